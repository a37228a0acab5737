"""tests/suite_lint.py, the lint of the suite itself (issue 31): each rule rejects the weakness it
names and accepts its fix. Pure: it checks source text, not files."""

from __future__ import annotations

import textwrap

import pytest

from tests.suite_lint import check_source


def rules(source: str, path: str = "tests/integration/test_x.py") -> list[str]:
    return [f.rule for f in check_source(textwrap.dedent(source), path)]


def test_a_while_loop_that_sleeps_without_a_deadline_is_rejected() -> None:
    assert rules(
        """
        import time
        def test_x(server):
            while not server.started:
                time.sleep(0.05)
        """
    ) == ["wait"]


def test_a_polling_loop_under_a_deadline_is_accepted() -> None:
    assert (
        rules(
            """
        import time
        def test_x(server):
            deadline = time.monotonic() + 10
            while not server.started:
                assert time.monotonic() < deadline, "the server to start"
                time.sleep(0.05)
        """
        )
        == []
    )


def test_a_bare_sleep_standing_in_for_synchronisation_is_rejected_unless_it_says_why() -> None:
    hoping = """
        import time
        def test_x(kill):
            time.sleep(0.3)
            kill()
        """
    assert rules(hoping) == ["wait"]
    outage = hoping.replace("time.sleep(0.3)", "time.sleep(5)  # not a wait: the outage lasts")
    assert rules(outage) == []


def test_a_bounded_number_of_attempts_is_a_polling_loop() -> None:
    assert (
        rules(
            """
        import time
        def ready(probe):
            for _ in range(100):
                if probe():
                    return
                time.sleep(0.1)
            raise AssertionError("never ready")
        """
        )
        == []
    )


@pytest.mark.parametrize(
    "name", ["test_zz_relay_broker_outage.py", "test_01_first.py", "test_a_first.py"]
)
def test_files_named_to_force_their_order_are_rejected(name: str) -> None:
    assert rules("", f"tests/integration/{name}") == ["order"]


def test_plain_test_file_names_are_accepted() -> None:
    assert rules("", "tests/integration/test_relay_broker_outage.py") == []


def test_a_name_promising_a_charge_with_only_a_status_code_asserted_is_rejected() -> None:
    assert rules(
        """
        def test_class1_largest_amount_is_accepted_and_charged(api):
            assert api.post().status_code == 202
        """
    ) == ["claim", "claim"]


def test_a_status_only_test_named_after_its_status_is_accepted() -> None:
    assert (
        rules(
            """
        def test_unknown_order_is_404(api):
            assert api.get().status_code == 404
        """
        )
        == []
    )


def test_a_test_that_reads_the_effect_back_is_accepted() -> None:
    assert (
        rules(
            """
        def test_full_refund_is_charged(api):
            assert api.post().status_code == 200
            assert api.ledger()["balance"]["amount"] == -2803
        """
        )
        == []
    )


def test_an_app_or_temporary_folder_built_at_import_time_is_rejected() -> None:
    assert rules(
        """
        import tempfile
        from services.embedded import create_embedded_app
        FOLDER = tempfile.mkdtemp()
        APP = create_embedded_app(None, None)
        """
    ) == ["import", "import"]

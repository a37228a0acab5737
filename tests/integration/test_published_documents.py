"""Issue 17, behaviour unchanged: the public contracts a restructuring must not move — every
service's OpenAPI document, every event's JSON Schema and the AsyncAPI document — are generated
from the code and compared byte for byte with the committed files (`docs/openapi/`,
`shared/contracts/`). A difference fails here; `make contracts` rewrites them on purpose.
"""

from __future__ import annotations

from shared.contracts.generate import SCHEMAS_DIR, rendered


def test_every_openapi_document_is_byte_identical_to_the_committed_one() -> None:
    from services.openapi_documents import DOCUMENTS_DIR, documents

    # Given the documents the code generates now
    generated = documents()
    # Then they are exactly the committed files, one per HTTP process, and no file is left over
    committed = {p.name for p in DOCUMENTS_DIR.glob("*.json")}
    assert set(generated) == committed
    for name, text in generated.items():
        assert (DOCUMENTS_DIR / name).read_text(encoding="utf-8") == text, name


def test_every_json_schema_and_the_asyncapi_document_are_byte_identical() -> None:
    # Given the contract files the models generate now
    generated = rendered()
    # Then each is exactly the committed file, and no committed schema lacks a model
    committed = set(SCHEMAS_DIR.glob("*.json"))
    assert {p for p in generated if p.suffix == ".json"} == committed
    for path, text in generated.items():
        assert path.read_text(encoding="utf-8") == text, path.name

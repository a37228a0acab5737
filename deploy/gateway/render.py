"""Render a gateway template: substitute only the `${SUPPORT_GW_*}` placeholders from the
environment (nginx's own `$variables` stay as they are). Usage: render.py TEMPLATE > OUT."""

import os
import string
import sys

values = {k: v for k, v in os.environ.items() if k.startswith("SUPPORT_GW_")}
with open(sys.argv[1], encoding="utf-8") as template:
    text = template.read()
rendered = string.Template(text).safe_substitute(values)
missing = sorted(
    {m for m in string.Template.pattern.findall(rendered) if m[2].startswith("SUPPORT_GW_")}
)
if missing:
    sys.exit(f"render.py: no value for {', '.join(m[2] for m in missing)}")
sys.stdout.write(rendered)

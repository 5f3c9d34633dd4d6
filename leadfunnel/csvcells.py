"""CSV cells a spreadsheet shows as text, for every export (capture's lead export in the
admin, sales' funnel metrics): one rule, so no export forgets it.

A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return, which Excel skips
before reading one) is a formula to Excel and LibreOffice: `=HYPERLINK(...)` in a lead's
name would run in the marketer's spreadsheet. A leading quote makes it text (OWASP's
"CSV injection" advice); four lines, no library.
"""

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formulas (= + - @) are defused with a quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text

"""Mistyped email domains: `ana@gmial.com` → “Did you mean ana@gmail.com?”.

Hand-written rather than a package: no maintained Python port of mailcheck.js is on PyPI,
and what a typo is must be a fixed, finite set here, because scoring needs the same answer
in Python and in PostgreSQL (a typo of a free-mail domain is free mail, not a corporate one):
`DOMAIN_TYPOS` lists every typo we correct, so SQL tests membership in it and Python looks
it up. The same rules run in static/leadfunnel/emailcheck.js, fed `COMMON_DOMAINS` and
`TLD_TYPOS` by the form, so the browser suggests before submit and the server when JS is off.

A typo is one slip of a finger in the name of a common provider: a letter left out, two
neighbours swapped, a neighbouring key hit instead or as well (a QWERTY neighbour, or the
same key twice), or a mistyped top-level domain (`.con`, `.cmo`). Edits to the name are
only looked for in names of five letters or more: one edit away from `aol` or `msn` are
real companies (aon.com, ms.com), and one edit away from `gmail` there are none.
"""

# The providers most addresses are at; a typo of one of these is corrected.
COMMON_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "comcast.net",
    "googlemail.com",
    "protonmail.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "btinternet.com",
    "sbcglobal.net",
    "verizon.net",
)
# Mistyped top-level domains and what was meant. Not `.co` or `.cm`: both are real TLDs.
TLD_TYPOS = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "vom": "com",
    "xom": "com",
    "cpm": "com",
    "coom": "com",
    "comm": "com",
    "cim": "com",
    "om": "com",
    "ner": "net",
    "nte": "net",
    "bet": "net",
    "met": "net",
    "nett": "net",
}
MIN_NAME_LENGTH = 5
# Real providers one slip away from a common one: never "corrected".
REAL_DOMAINS = frozenset({"mail.com", "ymail.com", "email.com", "gmx.com", "hotmail.co.uk"})

_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_POSITION = {
    key: (row, column) for row, keys in enumerate(_ROWS) for column, key in enumerate(keys)
}


def _neighbours(key: str) -> str:
    """The keys around `key` on a QWERTY keyboard (left, right, above, below)."""
    if key not in _POSITION:
        return ""
    row, column = _POSITION[key]
    near = [
        (row, column - 1),
        (row, column + 1),
        (row - 1, column),
        (row - 1, column + 1),
        (row + 1, column - 1),
        (row + 1, column),
    ]
    return "".join(_ROWS[r][c] for r, c in near if 0 <= r < len(_ROWS) and 0 <= c < len(_ROWS[r]))


def name_typos(name: str) -> set[str]:
    """Every one-slip variant of `name` (see the module's docstring), `name` excluded."""
    variants: set[str] = set()
    for index, key in enumerate(name):
        variants.add(name[:index] + name[index + 1 :])  # left out
        if index + 1 < len(name):  # swapped with the next
            variants.add(name[:index] + name[index + 1] + key + name[index + 2 :])
        for near in _neighbours(key):
            variants.add(name[:index] + near + name[index + 1 :])  # hit instead
            variants.add(name[:index] + near + name[index:])  # hit as well, before
            variants.add(name[: index + 1] + near + name[index + 1 :])  # or after
        variants.add(name[:index] + key + name[index:])  # the same key twice
    variants.discard(name)
    return variants


def _build_typos() -> dict[str, str]:
    typos: dict[str, str] = {}
    for domain in COMMON_DOMAINS:
        name, _, tld = domain.partition(".")
        for wrong, right in TLD_TYPOS.items():
            if tld == right:
                typos.setdefault(f"{name}.{wrong}", domain)
        if len(name) >= MIN_NAME_LENGTH:
            for variant in sorted(name_typos(name)):
                typos.setdefault(f"{variant}.{tld}", domain)
    for domain in (*COMMON_DOMAINS, *REAL_DOMAINS):
        typos.pop(domain, None)
    return typos


# typo → the domain meant, e.g. "gmial.com" → "gmail.com"; about 1,700 entries.
DOMAIN_TYPOS: dict[str, str] = _build_typos()


def suggest_domain(domain: str) -> str:
    """The common domain `domain` is a typo of, or "" when it is not one."""
    return DOMAIN_TYPOS.get(domain.lower(), "")


def suggest_email(email: str) -> str:
    """The address with its domain corrected (`ana@gmial.com` → `ana@gmail.com`), or ""."""
    local, at, domain = email.rpartition("@")
    suggestion = suggest_domain(domain) if at else ""
    return f"{local}@{suggestion}" if suggestion else ""

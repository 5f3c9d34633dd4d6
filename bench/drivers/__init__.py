"""The figures' Django side, run as subprocesses: `python -m bench.drivers.NAME ...`.

Each prints one JSON object on stdout. They run from the repository root, so `nurture`,
`scoring` and the other apps are the apps: the bench's modules live inside the `bench`
package and shadow nothing.
"""

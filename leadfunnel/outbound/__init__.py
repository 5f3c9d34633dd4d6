"""Every HTTP request the server makes to a URL someone typed: guarded against SSRF.

Outbound webhooks (webhooks/) and the sales hand-off's Slack-style post (sales/) both send
through `http.post`, which checks the URL with `safety` and connects to the checked address.
It lives in the project package, below both, because sales may not import webhooks.
"""

"""Every HTTP request the server makes, guarded against SSRF, and the one retry backoff.

Outbound webhooks (webhooks/), the sales hand-off's Slack-style post (sales/), the journeys'
webhook action (nurture/) and the ad platforms' audience APIs (integrations/) all send through
`http.request`, which checks the URL with `safety` and connects to the checked address.
`backoff.backoff_seconds` spaces the retries of webhooks and of emails. It lives in the
project package, below every app, because sales may not import webhooks.
"""

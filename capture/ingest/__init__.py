"""Capture's API, in one place: its resources, the public capture endpoint, behavioural
event ingest and the website-tracking collector.

- `/api/v1/landing-pages/`, `campaigns/`, `submissions/`: the marketer's resources
  (`resources.py`; both groups read, Marketers write).
- `POST /api/v1/capture/<slug>/`: a landing page's form, for headless sites (anonymous, CORS
  for the page's embed origins).
- `POST /api/v1/activities/`: page views and custom events from integrations (token auth).
- `POST /api/v1/track/`: track.js's beacons (anonymous, a signed tracking token per lead).
"""

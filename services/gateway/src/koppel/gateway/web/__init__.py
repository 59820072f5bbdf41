"""The dashboard and set-up wizard served under ``/app`` (server-rendered, no CDN)."""

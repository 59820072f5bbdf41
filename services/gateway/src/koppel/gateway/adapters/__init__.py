"""The gateway's I/O towards the outside: OAuth token endpoints and the two APIs."""

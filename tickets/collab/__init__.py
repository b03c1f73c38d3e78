"""Working a ticket together: @mentions in notes, followers, related tickets and side
conversations with third parties. Its own models live in tickets/models_collab.py."""

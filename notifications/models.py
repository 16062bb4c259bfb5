"""Arrives with its own issue; the app is registered so that the layers stay fixed."""

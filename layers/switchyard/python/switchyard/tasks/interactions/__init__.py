"""The work of interaction activities: audiences, offers, exports, warehouse activities."""

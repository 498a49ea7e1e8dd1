"""Notification content and transports: templates, SMTP, SMS (Twilio or the log).

The worker that decides what to send lives in `actors/notifications/`.
"""

"""Destinations: where audiences are delivered. Each adapter validates, then sends or refuses.

Real offline-capable destinations: ``s3`` (a file in a bucket), ``webhook`` (HTTP POST of JSON
batches), ``sftp`` (a file on an SFTP server). Ad and marketing platforms (Braze, Klaviyo,
Google Ads, Meta Ads, TikTok Ads, Salesforce Marketing Cloud) validate their credentials and
list names; their failures map to documented resolutions. They never pretend to have sent.
"""

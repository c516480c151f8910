"""TikTok Shop as a sales channel: its Partner API (version 202309), orders in, stock and operations out."""

"""Privacy requests across everything orderhub holds: locating a person (locate.py, columns.py says what each
column is), exporting it (export.py), erasing it (erase.py, redact.py) and the retention of completed orders'
personal data (retention.py). docs/explanation/privacy.md explains what is kept and why."""

from orderhub.services.privacy.erase import ErasureReport, PrivacyError, erase_person
from orderhub.services.privacy.export import export_person

__all__ = ["ErasureReport", "PrivacyError", "erase_person", "export_person"]

"""Ingest: report files -> cleaned reports with numbered paragraphs -> chunks (no models here)."""

from .chunking import chunk_report
from .loader import load_report_file, load_reports

__all__ = ["chunk_report", "load_report_file", "load_reports"]

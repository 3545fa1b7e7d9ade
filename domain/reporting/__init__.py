"""Reports: filled in chat one question at a time, read by the standing office.

| module | what it holds |
|---|---|
| ``service`` | :class:`ReportingService`: /report, typed answers, button presses, /cancel |
| ``answering`` | applying an answer or a press; sending the report (:class:`SubmissionNotice`) |
| ``steps`` | showing the step a chat is on: question, confirmation, review, edit list |
| ``office`` | :class:`ReportSnapshot` of each unit for the office; reopening a report |
| ``records`` | the report, its answers and each chat's form session in the database |
"""

from domain.reporting.answering import SubmissionNotice
from domain.reporting.office import ReportSnapshot
from domain.reporting.service import ReportingService

__all__ = ["ReportSnapshot", "ReportingService", "SubmissionNotice"]

"""名录 pages under ``/registers/``: the registers of enterprises (一企一档), mines, 选矿厂 and
尾矿库 — lists with filters, an entry's page (details, facilities, cases, hazards, inspections,
发起 buttons), create / edit forms for the departments that own a register, and the Excel
import. Thin: every rule lives in ``workflows.registers``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registers", __name__, url_prefix="/registers")

from . import views  # noqa: E402,F401  (routes register on bp)

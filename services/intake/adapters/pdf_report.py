"""The verification report as a PDF: A4, both languages, drawn with ReportLab (text stays text,
so it can be selected and searched), the QR code from segno, the registry's signed statement
embedded as a file attachment (pypdf) and printed in an appendix.

Chinese text uses a subset of the WenQuanYi Micro Hei font, registered once per process.
ReportLab keeps per-font state while it builds a document, so reports are built one at a time
on a thread of their own: the event loop stays free and ReportLab is never run concurrently.
"""

import asyncio
import io
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import segno
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
    XPreformatted,
)

from services.intake.domain.report import (
    DISCLAIMER_EN,
    DISCLAIMER_HEADING_EN,
    DISCLAIMER_HEADING_ZH,
    DISCLAIMER_ZH,
    SCOPE_EN,
    SCOPE_ZH,
    STATEMENT_FILE,
    TITLE_EN,
    TITLE_ZH,
    VerificationReport,
)

CJK_FONT = "QV-WenQuanYi-MicroHei"
MONO_FONT = "Courier"
BEIJING = timezone(timedelta(hours=8), "UTC+8")
STATEMENT_MEDIA_TYPE = "application/vc+jwt"
_MARGIN = 18 * mm
_FRAME_PADDING = 6  # points: ReportLab's frames pad each side
_WIDTH = A4[0] - 2 * _MARGIN - 2 * _FRAME_PADDING  # what the flowables of a page may use
_STATEMENT_LINE = 84  # characters of the statement per printed line

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#b8c2cc")
ACCENT = colors.HexColor("#0b5394")

_fonts_lock = threading.Lock()
_registered: dict[Path, str] = {}


def register_fonts(font_file: Path) -> str:
    """Registers the CJK font once per process (parsing the collection takes a while)."""
    with _fonts_lock:
        if font_file not in _registered:
            if not font_file.is_file():
                raise FileNotFoundError(
                    f"INTAKE_REPORT_FONT: no font file at {font_file} (Debian: apt-get install "
                    "fonts-wqy-microhei)"
                )
            pdfmetrics.registerFont(TTFont(CJK_FONT, str(font_file), subfontIndex=0))
            _registered[font_file] = CJK_FONT
        return _registered[font_file]


@dataclass(frozen=True)
class _Styles:
    title_zh: ParagraphStyle
    title_en: ParagraphStyle
    heading: ParagraphStyle
    label: ParagraphStyle
    zh: ParagraphStyle
    en: ParagraphStyle
    small_zh: ParagraphStyle
    small_en: ParagraphStyle
    code: ParagraphStyle
    caption: ParagraphStyle
    statement: ParagraphStyle


def _styles(font: str) -> _Styles:
    zh = ParagraphStyle("zh", fontName=font, fontSize=10, leading=14, textColor=INK)
    zh.wordWrap = "CJK"  # lines may break between any two Chinese characters
    en = ParagraphStyle("en", fontName=font, fontSize=9.5, leading=13, textColor=INK)
    small_zh = ParagraphStyle("small-zh", parent=zh, fontSize=8.5, leading=12)
    small_zh.wordWrap = "CJK"
    return _Styles(
        title_zh=ParagraphStyle("title-zh", fontName=font, fontSize=22, leading=28, textColor=INK),
        title_en=ParagraphStyle(
            "title-en", fontName=font, fontSize=13, leading=17, textColor=MUTED
        ),
        heading=ParagraphStyle(
            "heading",
            fontName=font,
            fontSize=11.5,
            leading=15,
            textColor=ACCENT,
            spaceBefore=9,
            spaceAfter=4,
        ),
        label=ParagraphStyle("label", fontName=font, fontSize=8.5, leading=11, textColor=MUTED),
        zh=zh,
        en=en,
        small_zh=small_zh,
        small_en=ParagraphStyle("small-en", parent=en, fontSize=8, leading=11),
        code=ParagraphStyle(
            "code", fontName="Courier-Bold", fontSize=21, leading=26, textColor=INK
        ),
        caption=ParagraphStyle(
            "caption", fontName=font, fontSize=7.5, leading=10, textColor=MUTED, alignment=TA_CENTER
        ),
        statement=ParagraphStyle(
            "statement", fontName=MONO_FONT, fontSize=7.4, leading=9.2, textColor=INK
        ),
    )


class QrCode(Flowable):
    """segno's QR code drawn as vector squares (each run of dark modules one rectangle)."""

    def __init__(self, content: str, size: float) -> None:
        super().__init__()
        self._qr = segno.make(content, error="m", micro=False)
        self.width = self.height = size

    def draw(self) -> None:
        quiet = 4  # modules of white border the standard asks for
        rows = [list(row) for row in self._qr.matrix]
        module = self.width / (len(rows) + 2 * quiet)
        canvas = self.canv
        canvas.setFillColor(colors.black)
        for y, row in enumerate(rows):
            top = self.height - (y + quiet + 1) * module
            x = 0
            while x < len(row):
                if not row[x]:
                    x += 1
                    continue
                start = x
                while x < len(row) and row[x]:
                    x += 1
                canvas.rect(
                    (start + quiet) * module, top, (x - start) * module, module, stroke=0, fill=1
                )


class PdfReports:
    """Renders reports on one thread of its own (see the module's docstring)."""

    def __init__(self, font_file: Path) -> None:
        self._font = register_fonts(font_file)
        self._styles = _styles(self._font)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-report")

    async def render(self, report: VerificationReport) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.render_now, report)

    def render_now(self, report: VerificationReport) -> bytes:
        """The PDF of `report`, on the calling thread."""
        drawn = io.BytesIO()
        document = SimpleDocTemplate(
            drawn,
            pagesize=A4,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=16 * mm,
            bottomMargin=18 * mm,
            title=f"{TITLE_ZH} / {TITLE_EN}",
            subject=f"验证编码 Verification code {report.code}",
            author="京津冀国际职业资格证书查询验证服务平台 / Beijing-Tianjin-Hebei "
            "International Professional Qualification Verification Platform",
            creator="qualverify intake",
            lang="zh-CN",
        )

        def footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(self._font, 7.5)
            canvas.setFillColor(MUTED)
            canvas.drawString(
                18 * mm,
                10 * mm,
                f"{TITLE_ZH} · {TITLE_EN} · {report.code}",
            )
            canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {doc.page} 页 · page {doc.page}")
            canvas.restoreState()

        document.build(self._story(report), onFirstPage=footer, onLaterPages=footer)
        return attach_statement(drawn.getvalue(), report.statement)

    def close(self) -> None:
        self._executor.shutdown(wait=True)

    def _story(self, report: VerificationReport) -> list[Flowable]:
        s = self._styles
        return [
            self._masthead(report),
            Spacer(1, 5 * mm),
            Paragraph("核验结果:真实。各颁发机构均确认该证书真实有效。", s.zh),
            Paragraph("Result: authentic. Every awarding body confirmed the certificate.", s.en),
            Spacer(1, 3 * mm),
            self._details(report),
            *self._disclaimer(),
            *self._offline(report),
            CondPageBreak(70 * mm),
            *self._appendix(report),
        ]

    def _masthead(self, report: VerificationReport) -> Table:
        s = self._styles
        left = [
            Paragraph(TITLE_ZH, s.title_zh),
            Paragraph(TITLE_EN, s.title_en),
            Spacer(1, 6 * mm),
            Paragraph("验证编码 · Verification code", s.label),
            Paragraph(escape(report.code), s.code),
            Spacer(1, 2 * mm),
            Paragraph(
                "凭验证编码在公共查验页面查验 · Anyone holding the code can check it at", s.label
            ),
            Paragraph(_link(report.offline.check_url), s.small_en),
        ]
        right = [
            QrCode(report.offline.check_url, 36 * mm),
            Paragraph("扫码查验 · Scan to check", s.caption),
        ]
        table = Table([[left, right]], colWidths=[_WIDTH - 42 * mm, 42 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, 0), 1.2, ACCENT),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                    ("LEFTPADDING", (0, 0), (0, 0), 0),
                ]
            )
        )
        return table

    def _details(self, report: VerificationReport) -> Table:
        s = self._styles
        entry = report.qualification

        def label(zh: str, en: str) -> list[Flowable]:
            return [Paragraph(zh, s.zh), Paragraph(en, s.label)]

        def lines(values: Sequence[str], style: ParagraphStyle) -> list[Flowable]:
            return [Paragraph(escape(value), style) for value in values]

        rows = [
            (
                label("职业资格", "Qualification"),
                [
                    Paragraph(escape(entry.name_zh), s.zh),
                    Paragraph(
                        escape(
                            entry.name_en
                            or "(目录未列英文名称 · the catalogue gives no English name)"
                        ),
                        s.en,
                    ),
                ],
            ),
            (
                label("所属清单", "Catalogue list"),
                [
                    para
                    for listed in entry.lists
                    for para in (
                        Paragraph(escape(listed.zh), s.zh),
                        Paragraph(escape(listed.en), s.en),
                    )
                ],
            ),
            (label("颁发机构", "Awarding bodies"), lines(entry.bodies, s.zh)),
            (
                label("地区", "Region"),
                [Paragraph(f"{report.region.zh} · {report.region.en}", s.zh)],
            ),
            (
                label("核验日期", "Date verified"),
                [Paragraph(_moment(report.verified_at), s.zh)],
            ),
            (
                label("持证人(部分隐去)", "Holder (name masked)"),
                [Paragraph(escape(report.holder_name_masked), s.zh)],
            ),
            (label("用人单位", "Employer"), [Paragraph(escape(report.employer), s.zh)]),
            (label("申请编号", "Request"), [Paragraph(str(report.request_id), s.en)]),
            (
                label("报告生成时间", "Report made"),
                [Paragraph(_moment(report.made_at), s.zh)],
            ),
        ]
        table = Table([list(row) for row in rows], colWidths=[40 * mm, _WIDTH - 40 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                ]
            )
        )
        return table

    def _disclaimer(self) -> list[Flowable]:
        s = self._styles
        return [
            KeepTogether(
                [
                    Paragraph("责任声明 · Disclaimer", s.heading),
                    Paragraph(f"{DISCLAIMER_HEADING_ZH}。{DISCLAIMER_ZH}", s.small_zh),
                    Spacer(1, 1.5 * mm),
                    Paragraph(f"{DISCLAIMER_HEADING_EN}. {escape(DISCLAIMER_EN)}", s.small_en),
                    Spacer(1, 2 * mm),
                    Paragraph(SCOPE_ZH, s.small_zh),
                    Paragraph(escape(SCOPE_EN), s.small_en),
                ]
            )
        ]

    def _offline(self, report: VerificationReport) -> list[Flowable]:
        s = self._styles
        offline = report.offline
        steps_zh = [
            f"本报告内嵌登记处的签名声明(附件 {STATEMENT_FILE},紧凑 JWS,类型 vc+jwt,"
            "Ed25519 签名),其文本亦印于附录。",
            f"以登记处公布的公钥(JWKS:{_link(offline.jwks_url)})按声明头部的 kid 验证签名。",
            f"声明中的 credentialStatus 指向吊销状态列表({_link(offline.status_list_url)})"
            "中的一位;该位为 1 即表示验证编码已被吊销。",
            "亦可扫描二维码,在公共查验页面在线查验。",
        ]
        steps_en = [
            f"The registry's signed statement is embedded in this report (attachment "
            f"{STATEMENT_FILE}: a compact JWS, type vc+jwt, signed with Ed25519) and printed in "
            "the appendix.",
            f"Verify its signature with the registry's published keys (JWKS: "
            f"{_link(offline.jwks_url)}), choosing the key named by the kid of its header.",
            f"Its credentialStatus names one bit of the revocation status list "
            f"({_link(offline.status_list_url)}); a set bit means the code was revoked.",
            "Or scan the QR code to check the code online on the public check page.",
        ]
        numbered = (
            [Paragraph(f"{n}. {zh}", s.small_zh) for n, zh in enumerate(steps_zh, start=1)]
            + [Spacer(1, 1.5 * mm)]
            + [Paragraph(f"{n}. {en}", s.small_en) for n, en in enumerate(steps_en, start=1)]
        )
        return [
            CondPageBreak(40 * mm),
            Paragraph("离线核验 · How to verify offline", s.heading),
            *numbered,
        ]

    def _appendix(self, report: VerificationReport) -> list[Flowable]:
        s = self._styles
        statement = report.statement
        printed = "\n".join(
            statement[i : i + _STATEMENT_LINE] for i in range(0, len(statement), _STATEMENT_LINE)
        )
        return [
            Paragraph(
                "附录:登记处的签名声明 · Appendix: the registry's signed statement", s.heading
            ),
            Paragraph(
                f"与内嵌附件 {STATEMENT_FILE} 相同,换行仅为排版;核验时请去掉换行。", s.small_zh
            ),
            Paragraph(
                f"The same as the embedded attachment {STATEMENT_FILE}; the line breaks are for "
                "printing only and are not part of it.",
                s.small_en,
            ),
            Spacer(1, 3 * mm),
            XPreformatted(escape(printed), s.statement),
        ]


def attach_statement(pdf: bytes, statement: str) -> bytes:
    """The PDF with the statement embedded as a file (PDF 32000 7.11.4), byte for byte."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    embedded = writer.add_attachment(STATEMENT_FILE, statement.encode("ascii"))
    embedded.subtype = NameObject("/" + STATEMENT_MEDIA_TYPE.replace("/", "#2F"))
    embedded.description = TextStringObject(
        "登记处的签名声明 (compact JWS, vc+jwt) / The registry's signed verification statement"
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _moment(moment: datetime) -> str:
    local = moment.astimezone(BEIJING)
    return f"{local:%Y-%m-%d %H:%M} 北京时间 · Beijing time (UTC+8)"


def _link(url: str) -> str:
    quoted = escape(url, quote=True)
    return f'<link href="{quoted}" color="#0b5394">{escape(url)}</link>'

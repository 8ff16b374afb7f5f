"""Made-up visitors whose badges the ``demo`` camera shows, with example.com emails."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoVisitor:
    """A made-up visitor for the demo badges."""

    first_name: str
    last_name: str
    email: str
    company: str
    title: str
    phone: str

    def vcard(self) -> str:
        """Return the visitor as a vCard 3.0 with CRLF line ends."""
        lines = [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"N:{self.last_name};{self.first_name};;;",
            f"FN:{self.first_name} {self.last_name}",
            f"ORG:{self.company}",
            f"TITLE:{self.title}",
            f"TEL;TYPE=WORK:{self.phone}",
            f"EMAIL;TYPE=INTERNET:{self.email}",
            "END:VCARD",
        ]
        return "\r\n".join(lines) + "\r\n"

    def mecard(self) -> str:
        """Return the visitor as a MECARD."""
        return (
            f"MECARD:N:{self.last_name},{self.first_name};TEL:{self.phone};"
            f"EMAIL:{self.email};ORG:{self.company};;"
        )


DEMO_VISITORS: tuple[DemoVisitor, ...] = (
    DemoVisitor(
        "Ada", "Lovelace", "ada.lovelace@example.com", "Analytical Engines Ltd",
        "Head of Research", "+44 20 7946 0958",
    ),
    DemoVisitor(
        "José", "Müller", "jose.muller@example.com", "Café Systèmes SA",
        "Directeur technique", "+33 1 23 45 67 89",
    ),
    DemoVisitor(
        "Yuki", "Tanaka", "yuki.tanaka@example.com", "東京ロボティクス株式会社",
        "エンジニア", "+81 3-1234-5678",
    ),
    DemoVisitor(
        "Grace", "Hopper", "grace.hopper@example.org", "Compiler Works Inc.",
        "Rear Admiral of Code", "+1 202 555 0143",
    ),
    DemoVisitor(
        "Wei", "Zhang", "wei.zhang@example.com", "深圳智能硬件有限公司",
        "产品经理", "+86 755 1234 5678",
    ),
    DemoVisitor(
        "Søren", "Ødegård", "soren.odegard@example.org", "Nordlys AS",
        "CTO", "+47 22 12 34 56",
    ),
)  # fmt: skip


def demo_payloads() -> list[str]:
    """Return the demo badge payloads: vCards, with the last visitor as a MECARD."""
    payloads = [visitor.vcard() for visitor in DEMO_VISITORS[:-1]]
    payloads.append(DEMO_VISITORS[-1].mecard())
    return payloads

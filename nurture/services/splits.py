"""Split tests: which variant a lead gets, and when a variant has won.

A lead's variant comes from a hash of the node and enrollment ids, so it is stable and
spread by the weights. With "pick a winner" on, once every email variant has at least
`min_sends` sends, the variant with the best click rate wins if a two-proportion z-test
against the runner-up is significant at the node's confidence (95% unless set); from then
on every lead gets the winner.
"""

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import Count, Q
from django.utils import timezone

from nurture.models import Delivery, Edge, Node

MAX_VARIANTS = 4
DEFAULT_MIN_SENDS = 100
DEFAULT_CONFIDENCE = 0.95


class Variant(TypedDict, total=False):
    """One entry of a split node's `config["variants"]`."""

    label: str
    weight: int


@dataclass(frozen=True)
class VariantStats:
    port: str
    label: str
    weight: int
    node_id: int | None
    sent: int
    clicked: int

    @property
    def click_rate(self) -> float:
        return self.clicked / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class SplitResult:
    variants: list[VariantStats]
    z: float | None
    p_value: float | None
    winner: str | None
    # Why there is no winner yet, for the admin.
    waiting_for: str


def variants(node: Node) -> list[Variant]:
    return list(node.config.get("variants") or [{"weight": 50}, {"weight": 50}])[:MAX_VARIANTS]


def pick(*, node: Node, enrollment_id: int) -> str:
    winner: str | None = node.config.get("winner")
    if winner:
        return winner
    options = variants(node)
    total = sum(max(int(v.get("weight", 0)), 0) for v in options) or 1
    digest = hashlib.blake2b(f"{node.pk}:{enrollment_id}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest) % total
    for index, variant in enumerate(options):
        point -= max(int(variant.get("weight", 0)), 0)
        if point < 0:
            return f"v{index}"
    return f"v{len(options) - 1}"


def stats(node: Node) -> SplitResult:
    """Each variant's sends and clicks (of the email its arrow leads to) and the z-test."""
    targets = dict(Edge.objects.filter(source=node).values_list("port", "target_id"))
    counts = {
        row["node_id"]: row
        for row in Delivery.objects.filter(node_id__in=[t for t in targets.values() if t])
        .values("node_id")
        .annotate(
            sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            clicked=Count("pk", filter=Q(status=Delivery.Status.SENT, clicked_at__isnull=False)),
        )
    }
    rows = []
    for index, variant in enumerate(variants(node)):
        port = f"v{index}"
        target = targets.get(port)
        found: Mapping[str, Any] = counts.get(target, {}) if target is not None else {}
        rows.append(
            VariantStats(
                port=port,
                label=variant.get("label") or chr(ord("A") + index),
                weight=int(variant.get("weight", 0)),
                node_id=target,
                sent=found.get("sent", 0),
                clicked=found.get("clicked", 0),
            )
        )
    min_sends = int(node.config.get("min_sends") or DEFAULT_MIN_SENDS)
    confidence = float(node.config.get("confidence") or DEFAULT_CONFIDENCE)
    if len(rows) < 2:
        return SplitResult(rows, None, None, node.config.get("winner"), "two variants or more")
    ranked = sorted(rows, key=lambda row: row.click_rate, reverse=True)
    best, runner_up = ranked[0], ranked[1]
    z, p_value = two_proportion_z(best.clicked, best.sent, runner_up.clicked, runner_up.sent)
    winner = node.config.get("winner")
    waiting = ""
    if winner is None:
        short = [row.label for row in rows if row.sent < min_sends]
        if short:
            waiting = f"{min_sends} sends per variant ({', '.join(short)} not there yet)"
        elif p_value is None or p_value >= 1 - confidence:
            waiting = (
                f"a difference significant at {confidence:.0%} (p = {p_value:.3f})"
                if (p_value is not None)
                else "clicks to compare"
            )
        else:
            winner = best.port
    return SplitResult(rows, z, p_value, winner, waiting)


def decide(node: Node) -> str | None:
    """Record the winner once the test is decided (auto-pick on); returns the winning port."""
    recorded: str | None = node.config.get("winner")
    if recorded or not node.config.get("auto_winner"):
        return recorded
    result = stats(node)
    if result.winner is None:
        return None
    config = {
        **node.config,
        "winner": result.winner,
        "decided_at": timezone.now().isoformat(),
        "decided_p": result.p_value,
    }
    Node.objects.filter(pk=node.pk).update(config=config)
    node.config = config
    return result.winner


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """z and two-sided p of H0: p1 == p2 (pooled standard error)."""
    if n1 == 0 or n2 == 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None, None
    z = (x1 / n1 - x2 / n2) / se
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return z, p_value

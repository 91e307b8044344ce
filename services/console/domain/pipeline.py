"""The pipeline graph, drawn from the broker's metadata: services, topics and consumer groups
as nodes; producer→topic edges carry the rate in, topic→group edges the rate out and the lag.
Pure: the web layer renders it (server-side SVG) from `layout`."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.console.domain.offsets import DEAD_LETTER_SUFFIX
from services.contracts.topics import producer_of


class NodeKind(StrEnum):
    SERVICE = "service"
    TOPIC = "topic"
    GROUP = "group"


@dataclass(frozen=True)
class Node:
    id: str
    kind: NodeKind
    label: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    rate: float | None  # records per second over the window; None: not measured yet
    lag: int | None = None  # topic→group only
    lag_seconds: float | None = None
    stalled: bool = False


@dataclass(frozen=True)
class Hop:
    """What the graph needs of one consumer group on one topic."""

    group_id: str
    topic: str
    out_rate: float | None
    lag: int
    lag_seconds: float | None
    stalled: bool


@dataclass(frozen=True)
class Pipeline:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def stalled(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.stalled)


def is_stalled(
    lag: int,
    out_rate: float | None,
    lag_seconds: float | None,
    *,
    window_seconds: float,
    stall_seconds: float,
) -> bool:
    """A hop is stalled when records wait and either the oldest has waited longer than
    `stall_seconds`, or nothing was consumed over the window while the oldest was already
    waiting when the window began (a record that just arrived is not a stall)."""
    if lag <= 0:
        return False
    if lag_seconds is not None and lag_seconds > stall_seconds:
        return True
    waited_whole_window = lag_seconds is None or lag_seconds >= window_seconds
    return out_rate == 0 and waited_whole_window


def service_id(name: str) -> str:
    return f"service:{name}"


def topic_id(name: str) -> str:
    return f"topic:{name}"


def group_id(name: str) -> str:
    return f"group:{name}"


def build_pipeline(
    topics: Iterable[str], in_rates: Mapping[str, float | None], hops: Iterable[Hop]
) -> Pipeline:
    """Producers come from the platform's table of topic owners; a dead-letter topic is fed by
    the groups that consume its source topic (they park records there)."""
    topic_names = sorted(topics)
    hop_list = sorted(hops, key=lambda h: (h.topic, h.group_id))
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    for name in topic_names:
        nodes[topic_id(name)] = Node(topic_id(name), NodeKind.TOPIC, name)
    for hop in hop_list:
        if topic_id(hop.topic) not in nodes:  # a topic deleted since
            continue
        nodes.setdefault(
            group_id(hop.group_id), Node(group_id(hop.group_id), NodeKind.GROUP, hop.group_id)
        )
        edges.append(
            Edge(
                topic_id(hop.topic),
                group_id(hop.group_id),
                hop.out_rate,
                hop.lag,
                hop.lag_seconds,
                hop.stalled,
            )
        )
    for name in topic_names:
        rate = in_rates.get(name)
        if name.endswith(DEAD_LETTER_SUFFIX):
            source = name.removesuffix(DEAD_LETTER_SUFFIX)
            parkers = sorted({h.group_id for h in hop_list if h.topic == source})
            edges += [Edge(group_id(g), topic_id(name), rate) for g in parkers]
            continue
        owner = producer_of(name)
        if owner is not None:
            nodes.setdefault(service_id(owner), Node(service_id(owner), NodeKind.SERVICE, owner))
            edges.append(Edge(service_id(owner), topic_id(name), rate))
    return Pipeline(tuple(nodes.values()), tuple(edges))


@dataclass(frozen=True)
class Placed:
    node: Node
    x: float
    y: float


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    node_width: float
    node_height: float
    placed: dict[str, Placed]


_COLUMNS = {NodeKind.SERVICE: 0, NodeKind.TOPIC: 1, NodeKind.GROUP: 2}


def layout(
    pipeline: Pipeline,
    *,
    column_gap: float = 140.0,
    row_gap: float = 18.0,
    node_width: float = 230.0,
    node_height: float = 34.0,
) -> Layout:
    """Three columns, left to right: producing services, topics, consumer groups; each column
    in name order, top-left corners of the node boxes."""
    columns: dict[int, list[Node]] = {0: [], 1: [], 2: []}
    for node in sorted(pipeline.nodes, key=lambda n: n.label):
        columns[_COLUMNS[node.kind]].append(node)
    placed: dict[str, Placed] = {}
    for column, nodes in columns.items():
        for row, node in enumerate(nodes):
            x = column * (node_width + column_gap)
            y = row * (node_height + row_gap)
            placed[node.id] = Placed(node, x, y)
    rows = max((len(nodes) for nodes in columns.values()), default=0)
    return Layout(
        width=3 * node_width + 2 * column_gap,
        height=max(rows * (node_height + row_gap) - row_gap, node_height),
        node_width=node_width,
        node_height=node_height,
        placed=placed,
    )

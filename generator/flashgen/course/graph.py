"""The prerequisite graph: learning order, "learn after" links, cycles and chains.

All functions are linear in the number of concepts plus links (no pairwise searches), so they
stay fast on courses of tens of thousands of concepts.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from flashgen.course.model import Concept, Course


def prerequisite_map(course: Course) -> dict[str, tuple[str, ...]]:
    """Each concept's existing prerequisites (unknown ids are the checker's business)."""
    known = {concept.id for concept in course.concepts}
    return {
        concept.id: tuple(dict.fromkeys(p for p in concept.prerequisite_ids if p in known))
        for concept in course.concepts
    }


def learn_after(
    course: Course, order: Sequence[Concept] | None = None
) -> dict[str, tuple[str, ...]]:
    """The reverse of prerequisites, each list in learning order (``order``, if computed)."""
    result: dict[str, list[str]] = {concept.id: [] for concept in course.concepts}
    prerequisites = prerequisite_map(course)
    for concept in learning_order(course) if order is None else order:
        for prerequisite in prerequisites[concept.id]:
            result[prerequisite].append(concept.id)
    return {key: tuple(value) for key, value in result.items()}


def learning_order(course: Course) -> tuple[Concept, ...]:
    """Concepts ordered so that every prerequisite comes first.

    Ties are broken by chapter order, then by file order, so the order is deterministic and
    close to how the course is laid out. Concepts caught in a cycle (an error the checker
    reports) come last, in file order.
    """
    chapter_index = {chapter.id: chapter.index for chapter in course.chapters}
    rank = {
        concept.id: (chapter_index.get(concept.chapter, len(chapter_index)), position)
        for position, concept in enumerate(course.concepts)
    }
    by_id = {concept.id: concept for concept in course.concepts}
    prerequisites = prerequisite_map(course)
    waiting = {cid: len(prereqs) for cid, prereqs in prerequisites.items()}
    dependents: dict[str, list[str]] = {cid: [] for cid in prerequisites}
    for cid, prereqs in prerequisites.items():
        for prerequisite in prereqs:
            dependents[prerequisite].append(cid)
    ready = [(rank[cid], cid) for cid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Concept] = []
    while ready:
        _, cid = heapq.heappop(ready)
        order.append(by_id[cid])
        for dependent in dependents[cid]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, (rank[dependent], dependent))
    if len(order) < len(by_id):
        placed = {concept.id for concept in order}
        order.extend(c for c in by_id.values() if c.id not in placed)
    return tuple(order)


def find_cycles(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected component, each as ``[a, b, ..., a]``.

    Iterative Tarjan, so deep chains cannot exhaust Python's recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in edges:
                    continue
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(edges.get(succ, ()))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    components.append(component)
    return [_cycle_in(component, edges) for component in components]


def _cycle_in(component: list[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """A simple cycle through the component's first member (in input order)."""
    members = set(component)
    order = {node: i for i, node in enumerate(edges)}
    start = min(component, key=order.__getitem__)
    parent: dict[str, str] = {}
    queue = [start]
    for node in queue:
        for succ in edges.get(node, ()):
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if succ in members and succ not in parent and succ != start:
                parent[succ] = node
                queue.append(succ)
    return [start, start]  # pragma: no cover - a component always holds a cycle


def longest_chain(course: Course) -> list[str]:
    """The longest path of prerequisites (ids from a foundation to the deepest concept)."""
    prerequisites = prerequisite_map(course)
    best: dict[str, tuple[int, str | None]] = {}
    for concept in learning_order(course):
        options = [(best[p][0], p) for p in prerequisites[concept.id] if p in best]
        length, via = max(options, default=(0, None))
        best[concept.id] = (length + 1, via)
    if not best:
        return []
    node: str | None = max(best, key=lambda cid: best[cid][0])
    chain = []
    while node is not None:
        chain.append(node)
        node = best[node][1]
    return chain[::-1]

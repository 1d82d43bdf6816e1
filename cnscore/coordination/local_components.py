"""The label propagation of components.py, on the driver, for link graphs that fit in memory.

Same rounds as the Spark version (propagation, hooking, one pointer jump; see its module
docstring), over integer codes that follow the string order of the node ids, so the minimum
code is the minimum id and each round produces the same labels as the Spark round. Counting
rounds the same way keeps `ComponentsDidNotConvergeError` raised exactly when Spark's is.

Why: the link graph is tiny next to the ratings (hundreds to a few thousand links at 1 M
ratings), and each Spark round costs several jobs with a checkpoint and a cache; here a
round is a few numpy passes over the links.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger("cnscore.coordination")


class ComponentsDidNotConvergeError(RuntimeError):
    """Label propagation hit `max_iterations` before reaching its fixed point."""


def _round(node: np.ndarray, nbr: np.ndarray, label: np.ndarray) -> np.ndarray:
    """One round: the new label of every node code (as components._round)."""
    offer = label.copy()  # a node with no offer keeps its label: least(label, coalesce(...))
    np.minimum.at(offer, node, label[nbr])  # propagation: node may take its neighbour's label
    np.minimum.at(offer, label[node], label[nbr])  # hooking: so may the node its label names
    return np.minimum(offer, offer[offer])  # one pointer jump


def local_component_labels(
    src: np.ndarray, dst: np.ndarray, *, max_iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    """(node ids, label ids): the minimum node id of each node's component.

    Args:
        src, dst: endpoint ids of undirected links (object arrays of strings); self-links
            and duplicates are allowed, and nodes with only self-links are left out (as in
            the Spark version, whose adjacency drops them).
        max_iterations: safety bound on rounds, as in components.component_labels.

    Raises:
        ComponentsDidNotConvergeError: labels still change after `max_iterations` rounds.
    """
    keep = src != dst
    ids, codes = np.unique(np.concatenate([src[keep], dst[keep]]), return_inverse=True)
    half = codes.size // 2
    # Both directions, as the Spark adjacency (duplicates change no minimum).
    node = np.concatenate([codes[:half], codes[half:]])
    nbr = np.concatenate([codes[half:], codes[:half]])
    label = np.arange(ids.size)
    for round_no in range(1, max_iterations + 1):
        new = _round(node, nbr, label)
        changed = int(np.count_nonzero(new != label))
        label = new
        log.info("components round %d (driver): %d labels changed", round_no, changed)
        if changed == 0:
            return ids, ids[label]
    raise ComponentsDidNotConvergeError(
        f"labels still changing after {max_iterations} rounds; raise components_max_iterations"
    )


def local_groups(
    src: np.ndarray, dst: np.ndarray, *, max_iterations: int
) -> list[tuple[int, str, int]]:
    """(postSelectionGroupId, raterParticipantId, groupSize) rows, as dense_group_ids.

    Group ids are 1..k in the order of each component's minimum id (string order).
    """
    nodes, labels = local_component_labels(src, dst, max_iterations=max_iterations)
    distinct, group_code, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    del distinct  # sorted labels: their position + 1 is the group id
    return [
        (int(g) + 1, str(n), int(sizes[g]))
        for n, g in zip(nodes.tolist(), group_code.tolist())
    ]

"""Stable ids: Hungarian matching with a distance threshold; ids never reused."""

from __future__ import annotations

import numpy as np

from segmentation.matching import match_segments

OLD = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])


def test_permuted_clusters_keep_their_ids() -> None:
    new = OLD[[2, 0, 1]] + 0.1
    result = match_segments(new, OLD, [4, 7, 9], max_segment_id=9, threshold=1.0)
    assert result.segment_ids == (9, 4, 7)
    assert result.new_ids == () and result.retired_ids == ()
    assert result.max_segment_id == 9


def test_far_cluster_gets_a_new_id_and_the_old_one_retires() -> None:
    new = np.array([[0.1, 0.0], [5.0, 0.1], [20.0, 20.0]])
    result = match_segments(new, OLD, [1, 2, 3], max_segment_id=3, threshold=1.0)
    assert result.segment_ids == (1, 2, 4)
    assert result.retired_ids == (3,)
    assert result.max_segment_id == 4


def test_retired_ids_are_never_reissued() -> None:
    # id 5 was issued once and retired: the next new segment is 6, not 3 or 5
    new = np.array([[0.0, 0.0], [50.0, 50.0]])
    result = match_segments(new, OLD[:1], [1], max_segment_id=5, threshold=1.0)
    assert result.segment_ids == (1, 6)


def test_more_new_clusters_than_old() -> None:
    new = np.vstack([OLD, [[9.0, 9.0]]])
    result = match_segments(new, OLD, [1, 2, 3], 3, threshold=1.0)
    assert result.segment_ids == (1, 2, 3, 4)


def test_first_fit_numbers_from_one() -> None:
    result = match_segments(OLD, None, [], 0, threshold=1.0)
    assert result.segment_ids == (1, 2, 3) and result.matched == {}


def test_distance_uses_only_shared_dimensions() -> None:
    new = np.array([[0.0, 100.0], [5.0, -100.0]])
    dims = np.array([True, False])
    result = match_segments(new, OLD[:2], [1, 2], 2, threshold=1.0, dims=dims)
    assert result.segment_ids == (1, 2)

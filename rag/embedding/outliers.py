"""Graph edits that make e5's ONNX export quantize well and run fast as int8 (used by rag.embedding.quantize).

- ``drop_nan_guards``: the export guards each attention softmax against rows that are masked entirely
  (``Where(IsNaN(softmax), 0, softmax)``) and builds the same additive mask again in every layer. No row is ever
  masked entirely (every text has its <s> and </s> tokens), so the guard returns the softmax unchanged; the 12
  guards plus the 11 repeated masks took ~20% of the int8 model's time. Exact.
- ``split_outliers``: a few input channels of some weight MatMuls carry values 5-20× larger than the rest (one
  GELU output channel reaches 63 where the 99th percentile of the channel maxima is 3.3; LayerNorm outputs
  feeding the feed-forward layers reach 20-44 against ~5). Dynamic int8 quantizes an activation with one scale per
  tensor, so those channels squeeze every other value into a few levels (cosine to fp32 0.9968; plain SmoothQuant
  scaling measured 0.9987 at best). As in LLM.int8(), such channels are taken out of the int8 MatMul (its
  activation input is multiplied by a 0/1 channel mask, the weight rows zeroed) and computed in fp32 beside it:
  ``Gather`` of the k channels, a k×N fp32 MatMul, ``Add``. The fp32 graph is unchanged in value; after int8
  quantization the cosine to fp32 is 0.9995 (mixed weight-only recipe: 0.9992) at ~0.9-0.95 of plain int8's speed.
Which channels: the largest |x| of each channel over calibration passages (real sample paragraphs, pad tokens
excluded); a channel is an outlier when its maximum exceeds OUTLIER_RATIO × the 99th percentile of the channel
maxima of that input (at most MAX_OUTLIERS per MatMul).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

OUTLIER_RATIO = 2.5
MAX_OUTLIERS = 8
SIDE_TAG = "/outlier_fp32/"  # in the names of the side-path nodes, which stay fp32


def _rewire(graph: onnx.GraphProto, old: str, new: str) -> None:
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name == old:
                node.input[k] = new


def _remove_dead(graph: onnx.GraphProto) -> None:
    """Nodes no graph output depends on, and initializers no node reads."""
    needed = {o.name for o in graph.output}
    keep = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    used = {i for n in graph.node for i in n.input}
    initializers = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def drop_nan_guards(model: onnx.ModelProto) -> int:
    """Remove the softmax NaN guards and share the first layer's attention mask; returns how many guards went."""
    graph = model.graph
    producers = {o: n for n in graph.node for o in n.output}
    first_mask, guards = None, 0
    for node in list(graph.node):
        if node.op_type != "Where" or "/attention/self/" not in node.name:
            continue
        condition = producers.get(node.input[0])
        if condition is not None and condition.op_type == "IsNaN" and condition.input[0] == node.input[2]:
            _rewire(graph, node.output[0], node.input[2])  # Where(IsNaN(p), 0, p) -> p
            guards += 1
        elif first_mask is None:
            first_mask = node
        elif list(node.input[1:]) == list(first_mask.input[1:]) or _same_constants(graph, node, first_mask):
            _rewire(graph, node.output[0], first_mask.output[0])  # the same mask, built again in this layer
    _remove_dead(graph)
    return guards


def _same_constants(graph: onnx.GraphProto, a: onnx.NodeProto, b: onnx.NodeProto) -> bool:
    """Where nodes on the same condition whose two branches are equal Constant values."""
    from onnx import numpy_helper

    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
    if a.input[0] != b.input[0]:
        return False
    for x, y in zip(a.input[1:], b.input[1:], strict=True):
        if x not in constants or y not in constants:
            return False
        vx = numpy_helper.to_array(constants[x].attribute[0].t)
        vy = numpy_helper.to_array(constants[y].attribute[0].t)
        if vx.shape != vy.shape or not np.array_equal(vx, vy):
            return False
    return True


def weight_matmuls(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """MatMul nodes whose second input is a weight (an initializer): the ones dynamic quantization makes int8."""
    initializers = {t.name for t in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in initializers]


def channel_maxima(
    model: onnx.ModelProto, batches: list[tuple[np.ndarray, np.ndarray]], session: Callable
) -> dict[str, np.ndarray]:
    """max |x| of every channel of every weight MatMul's input over the batches' real tokens (not padding).

    `session(model_bytes)` opens an onnxruntime session; the inputs are added as graph outputs for the run only."""
    import onnx

    names = sorted({n.input[0] for n in weight_matmuls(model)})
    outputs = len(model.graph.output)
    for name in names:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    try:
        run = session(model.SerializeToString())
    finally:
        del model.graph.output[outputs:]
    maxima: dict[str, np.ndarray] = {}
    for ids, mask in batches:
        values = run.run(names, {"input_ids": ids, "attention_mask": mask})
        for name, x in zip(names, values, strict=True):
            peak = np.abs(x[mask.astype(bool)]).max(axis=0)
            maxima[name] = np.maximum(maxima[name], peak) if name in maxima else peak
    return maxima


def outlier_channels(maxima: np.ndarray) -> np.ndarray:
    """The channels (sorted) whose maximum exceeds OUTLIER_RATIO × the 99th percentile, at most MAX_OUTLIERS."""
    largest = np.argsort(maxima)[::-1][:MAX_OUTLIERS]
    return np.sort(largest[maxima[largest] > OUTLIER_RATIO * np.percentile(maxima, 99)])


def split_outliers(model: onnx.ModelProto, maxima: dict[str, np.ndarray]) -> dict[str, list[int]]:
    """Move each weight MatMul's outlier input channels to an fp32 side path (see the module); returns the
    channels split per MatMul (name -> channels). The result equals the original graph up to float rounding."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    split: dict[str, list[int]] = {}
    for node in weight_matmuls(model):
        channels = outlier_channels(maxima[node.input[0]])
        if not len(channels):
            continue
        base = node.name + SIDE_TAG
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)
        keep = np.ones(w.shape[0], np.float32)
        keep[channels] = 0.0
        side_w = w[channels]
        w = w.copy()
        w[channels] = 0.0
        weights[node.input[1]].CopyFrom(numpy_helper.from_array(w, node.input[1]))
        graph.initializer.extend(
            [
                numpy_helper.from_array(keep, base + "keep"),
                numpy_helper.from_array(channels.astype(np.int64), base + "channels"),
                numpy_helper.from_array(side_w, base + "weight"),
            ]
        )
        x, y = node.input[0], node.output[0]
        before = [
            helper.make_node("Mul", [x, base + "keep"], [base + "x_int8"], name=base + "Mul"),
            helper.make_node("Gather", [x, base + "channels"], [base + "x_fp32"], name=base + "Gather", axis=-1),
            helper.make_node("MatMul", [base + "x_fp32", base + "weight"], [base + "y_fp32"], name=base + "MatMul"),
        ]
        node.input[0], node.output[0] = base + "x_int8", base + "y_int8"
        after = helper.make_node("Add", [base + "y_int8", base + "y_fp32"], [y], name=base + "Add")
        position = list(graph.node).index(node)
        graph.node.insert(position + 1, after)
        for k, extra in enumerate(before):
            graph.node.insert(position + k, extra)
        split[node.name] = channels.tolist()
    onnx.checker.check_model(model)
    return split


def side_nodes(model: onnx.ModelProto) -> list[str]:
    """The nodes of the fp32 side paths, which quantization must leave alone."""
    return [n.name for n in model.graph.node if SIDE_TAG in n.name]

"""Keras's functional API: ``Input``, layers called on symbolic tensors, ``Model(inputs, outputs)``.

>>> import nets
>>> a, b = nets.Input(shape=(4,)), nets.Input(shape=(3,))
>>> shared = nets.Dense(2, activation="tanh")
>>> h = nets.Concatenate()([shared(a), nets.Dense(2)(b)])
>>> model = nets.Model([a, b], [nets.Dense(1)(h), nets.Dense(3, activation="softmax")(h)])

Calling a layer on a :class:`SymbolicTensor` builds it for that shape and records a
:class:`Node`; calling the same layer object again reuses its weights (a shared layer).
``Model`` walks the nodes in order; its forward pass is still one function of the flat
parameter vector written with ``difflab.namespace``, so every method differentiates it, and
the ``manual`` path back-propagates through the same graph by hand (a shared layer's weight
gradients add up over its calls). Training, evaluation and saving are ``Sequential``'s: a
``Model`` is a ``Sequential`` whose layers form a graph instead of a chain, with several
inputs given as a list of arrays and several outputs' losses summed (with ``loss_weights``).
"""
from __future__ import annotations

import numpy as np

from difflab.namespaces import NUMPY

from . import backprop, losses, nested
from .embedding import Embedding
from .layers import Layer
from .model import Batch, Sequential, _flat_outputs, _sample_shape, check_inputs
from .parameters import Parameters
from .saving import layer_config
from .subclassed import Model
from .symbolic import Input, Node, SymbolicTensor, call_layer, shape_text  # noqa: F401 (nets.functional's names)


class Functional(Model):
    """A network whose layers form a graph from ``inputs`` to ``outputs`` (one tensor or lists):
    what ``nets.Model(inputs, outputs)`` makes.

    Weights are created here, from ``seed``, in Keras's ``model.layers`` order (see
    :func:`_keras_layer_order`), so ``set_weights(keras_model.get_weights())`` fits.
    """

    # A chain's ways, not a subclassed model's: the layers are the graph's, fixed here.
    _leaf_layers = Sequential._leaf_layers
    _need_built = Sequential._need_built
    _save_config = Sequential._save_config

    def __init__(self, inputs, outputs, seed=None, name="model"):
        Sequential.__init__(self, None, seed=seed, name=name)
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.single_output = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single_output else list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, SymbolicTensor):
                raise ValueError(f"Model takes nets.Input tensors and layer outputs, got {t!r}")
        for t in self.inputs:
            if t.node is not None:
                raise ValueError("Model inputs must be nets.Input(...) tensors, not layer outputs")
        self.nodes = _nodes_between(self.inputs, self.outputs)
        for i, t in enumerate(self.inputs):
            t.name = t.name or f"input_{i}"
        self.layers = _keras_layer_order(self.nodes, self.outputs)
        by_first_call = sorted(self.layers, key=lambda l: l._first_call)
        for i, layer in enumerate(by_first_call):  # numbered per kind in the order they were called
            if layer.name is None:
                kind = type(layer).__name__.lower()
                layer.name = f"{kind}_{sum(type(l) is type(layer) for l in by_first_call[:i])}"
        self._index = {id(layer): i for i, layer in enumerate(self.layers)}
        self._encoders = [_encoder(t, self.nodes) for t in self.inputs]
        self.input_shape = self.inputs[0].shape
        self.input_dim = self.input_shape[-1]
        self._parameters = Parameters(self.layers)
        self._parameters.initialize(self._init_rng)
        nested.start_from_nested(self._parameters)  # a model called in the graph lends its weights
        self.output_names = [t.node.layer.name if t.node else t.name for t in self.outputs]
        self.output_losses, self.loss_weights = [], None

    # ------------------------------------------------------------------ building
    def add(self, layer):
        raise ValueError("a functional Model's layers are fixed by its inputs and outputs; build a new Model")

    def build(self, input_dim):
        shapes = [t.shape for t in self.inputs]
        if len(shapes) == 1 and _sample_shape(input_dim) != shapes[0]:
            raise ValueError(f"the model takes inputs of shape {shapes[0]}, got {input_dim}")

    @property
    def output_dim(self):
        return self.outputs[0].shape[-1]

    # ------------------------------------------------------------------ compiling
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, differentiator="reverse",
                loss_weights=None, **differentiator_options):
        """As ``Sequential.compile``; with several outputs ``loss`` is one loss for all, a list,
        or a dict by output layer name, and ``loss_weights`` a list or dict of multipliers.
        The training loss is the weighted sum of the outputs' losses, as in Keras."""
        per_output = self._per_output(loss, "loss")
        Sequential.compile(self, optimizer, per_output[0], metrics, differentiator, **differentiator_options)
        self.output_losses = [losses.get(l) for l in per_output]
        if loss_weights is None:
            self.loss_weights = None
        else:
            weights = self._per_output(loss_weights, "loss_weights", broadcast=False)
            self.loss_weights = [float(w) for w in weights]

    def _per_output(self, value, what, broadcast=True):
        """One entry per output from a single value, a list or a dict by output name."""
        n = len(self.outputs)
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(self.output_names))
            if unknown or len(value) != n:
                raise ValueError(f"{what} is keyed by output layer names {self.output_names}, got {sorted(value)}")
            return [value[name] for name in self.output_names]
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"{what} has {len(value)} entries for {n} outputs")
            return list(value)
        if not broadcast and n > 1:
            raise ValueError(f"{what} must be a list or dict with one entry per output")
        return [value] * n

    # ------------------------------------------------------------------ the objective
    def _input_tensors(self, xp, data):
        return [xp.asarray(a) for a in data]

    def _call_model(self, forward_pass, x):
        """Every node in order; the output, or the list of outputs."""
        x = x if isinstance(x, (list, tuple)) else [x]
        values = {id(t): a for t, a in zip(self.inputs, x)}
        for node in self.nodes:
            args = [values[id(t)] for t in node.inputs]
            layer = node.layer
            values[id(node.output)] = forward_pass.apply(
                layer, args if getattr(layer, "takes_list", False) else args[0])
        outputs = [values[id(t)] for t in self.outputs]
        return outputs[0] if self.single_output else outputs

    def _weighted(self):
        weights = self.loss_weights or [1.0] * len(self.outputs)
        return list(zip(self.output_losses, weights))

    def _as_list(self, y_pred):
        return [y_pred] if self.single_output else y_pred

    def _data_loss(self, y, y_pred):
        total = None
        for (loss, w), target, pred in zip(self._weighted(), y, self._as_list(y_pred)):
            term = loss(target, pred) if w == 1.0 else w * loss(target, pred)
            total = term if total is None else total + term
        return total

    def _metric_values(self, y, y_pred) -> dict:
        preds = self._as_list(y_pred)
        if len(preds) == 1:
            return {name: fn(y[0], preds[0]) for name, fn in self.metrics}
        out = {}
        for out_name, loss, target, pred in zip(self.output_names, self.output_losses, y, preds):
            out[f"{out_name}_loss"] = float(loss(target, pred))
            out.update({f"{out_name}_{name}": fn(target, pred) for name, fn in self.metrics})
        return out

    # The manual path through the graph.
    def _backprop_forward(self, weights, batch):
        values = {id(t): a for t, a in zip(self.inputs, batch.x)}
        caches = []
        for node in self.nodes:
            args = [values[id(t)] for t in node.inputs]
            layer = node.layer
            out, cache = layer.forward(weights[self._index[id(layer)]],
                                       args if getattr(layer, "takes_list", False) else args[0], batch)
            values[id(node.output)] = out
            caches.append(cache)
        outputs = [values[id(t)] for t in self.outputs]
        return (outputs[0] if self.single_output else outputs), caches

    def _loss_gradient(self, y, y_pred):
        return [w * backprop.loss_gradient(loss, target, pred)
                for (loss, w), target, pred in zip(self._weighted(), y, self._as_list(y_pred))]

    def _backprop_backward(self, weights, caches, g):
        """Cotangents flow from the outputs back through the nodes; a tensor read by several
        nodes sums what they send, and a shared layer sums its weight gradients over calls."""
        cotangents = {}
        for t, gt in zip(self.outputs, g):
            cotangents[id(t)] = cotangents.get(id(t), 0.0) + gt
        grads = [[np.zeros(spec.shape) for spec in layer.weight_specs] for layer in self.layers]
        for node, cache in reversed(list(zip(self.nodes, caches))):
            g_out = cotangents.pop(id(node.output), None)
            if g_out is None:
                continue
            i = self._index[id(node.layer)]
            g_in, g_w = node.layer.backward(weights[i], cache, g_out)
            grads[i] = [a + b for a, b in zip(grads[i], g_w)]
            g_in = g_in if getattr(node.layer, "takes_list", False) else [g_in]
            for t, gt in zip(node.inputs, g_in):
                if t.node is not None:
                    cotangents[id(t)] = cotangents.get(id(t), 0.0) + gt
        return grads

    # ------------------------------------------------------------------ data
    def _encode(self, x):
        return tuple(encode(a) for encode, a in zip(self._encoders, x))

    def encode_input(self, x):
        """How raw data enters this model nested first in a Sequential: one array per input
        (the array itself for a single input, as a layer takes it)."""
        encoded = self._encode(self._per_input(x))
        return encoded[0] if len(encoded) == 1 else encoded

    def _check_x(self, x):
        arrays = self._per_input(x)
        checked = tuple(check_inputs(a, t.shape, t.name) for a, t in zip(arrays, self.inputs))
        counts = {len(a) for a in checked}
        if len(counts) > 1:
            raise ValueError(f"the inputs have different numbers of samples: {[len(a) for a in checked]}")
        return checked

    def _per_input(self, x):
        n = len(self.inputs)
        if isinstance(x, dict):
            names = [t.name for t in self.inputs]
            if set(x) != set(names):
                raise ValueError(f"x is keyed by input names {names}, got {sorted(x)}")
            return [x[name] for name in names]
        if n == 1:
            return [x[0] if isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray) else x]
        if not isinstance(x, (list, tuple)) or len(x) != n:
            raise ValueError(f"the model has {n} inputs; give x as a list of {n} arrays")
        return list(x)

    def _raw_inputs(self, x):
        return [np.asarray(a) for a in self._per_input(x)]

    def _raw_targets(self, y):
        return [np.asarray(t) for t in self._targets(y)]

    def _targets(self, y):
        if not self.single_output:
            return self._per_output(y, "y", broadcast=False)
        return [y[0]] if isinstance(y, (list, tuple)) and len(y) == 1 and isinstance(y[0], np.ndarray) else [y]

    def _check_data(self, x, y):
        x = self._check_x(x)
        _flat_outputs([t.shape for t in self.outputs])
        if not self.output_losses:
            raise RuntimeError("compile the model before training or evaluating it")
        targets = self._targets(y)
        y = tuple(loss.prepare_targets(target, t.shape[-1])
                  for loss, target, t in zip(self.output_losses, targets, self.outputs))
        for target in y:
            if len(target) != len(x[0]):
                raise ValueError(f"x has {len(x[0])} samples but y has {len(target)}")
        return x, y

    def predict(self, x):
        """The outputs: one array, or a list with several outputs."""
        x = self._check_x(x)
        return self.forward(NUMPY, self.parameters.theta, Batch(self._encode(x), ()))

    # ------------------------------------------------------------------ reporting and saving
    def _summary_table(self):
        return summary_table(self)

    def get_config(self) -> dict:
        tensor_ref = self._tensor_ref
        return {"class_name": type(self).__name__, "module": type(self).__module__,
                "name": self.name, "seed": self.seed, "functional": True,
                "inputs": [{"name": t.name, "shape": list(t.shape)} for t in self.inputs],
                "layers": [layer_config(layer) for layer in self.layers],
                "nodes": [{"layer": self._index[id(n.layer)], "inputs": [tensor_ref(t) for t in n.inputs]}
                          for n in self.nodes],
                "outputs": [tensor_ref(t) for t in self.outputs], "single_output": self.single_output}

    def _tensor_ref(self, t):
        if t.node is None:
            return ["input", self.inputs.index(t)]
        return ["node", self.nodes.index(t.node)]


def _nodes_between(inputs, outputs) -> list:
    """The nodes that make ``outputs``, each after the nodes it reads (depth-first order)."""
    order, done, active = [], set(), set()
    given = {id(t) for t in inputs}

    def visit(t):
        if t.node is None:
            if id(t) not in given:
                raise ValueError(f"the outputs depend on an Input ({t.name or 'unnamed'}) that is not "
                                 "among the model's inputs")
            return
        node = t.node
        if id(node) in done:
            return
        if id(node) in active:
            raise ValueError("the layer graph has a cycle")
        active.add(id(node))
        for s in node.inputs:
            visit(s)
        active.discard(id(node))
        done.add(id(node))
        order.append(node)

    for t in outputs:
        visit(t)
    return order


def _keras_layer_order(nodes, outputs) -> list:
    """The layers in Keras's ``model.layers`` order (keras.src.ops.function.map_graph):
    deepest first, where a node's depth is its distance from the outputs (a shared layer
    taking its deepest call's), ties broken by when a depth-first walk from the outputs
    first meets the layer. ``nodes`` is that walk's post-order, as :func:`_nodes_between` gives."""
    first_met, seen = {}, set()

    def walk(t):
        if t.node is None or id(t.node) in seen:
            return
        seen.add(id(t.node))
        first_met.setdefault(id(t.node.layer), len(first_met))
        for s in t.node.inputs:
            walk(s)

    for t in outputs:
        walk(t)
    node_depth, layer_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for s in node.inputs:
            if s.node is not None:
                node_depth[id(s.node)] = max(depth + 1, node_depth.get(id(s.node), 0))
    layers = list({id(n.layer): n.layer for n in nodes}.values())
    return sorted(layers, key=lambda l: (-layer_depth[id(l)], first_met[id(l)]))


def _encoder(tensor, nodes):
    """How an input's raw data enters its consumers: an Embedding's one-hot rows, or as it is."""
    consumers = [n.layer for n in nodes if any(s is tensor for s in n.inputs)]
    embeddings = [l for l in consumers if isinstance(l, Embedding)]
    if embeddings and len(embeddings) != len(consumers):
        raise ValueError(f"input {tensor.name} feeds an Embedding and other layers; give the other "
                         "layers their own Input")
    if len({l.vocabulary for l in embeddings}) > 1:
        raise ValueError(f"input {tensor.name} feeds Embeddings of different vocabularies")
    return embeddings[0].encode_input if embeddings else (lambda a: a)


class Concatenate(Layer):
    """Join a list of tensors along ``axis`` (the last by default)."""

    takes_list = True

    def __init__(self, axis=-1, name=None):
        super().__init__(name)
        self.axis = int(axis)

    def build_shape(self, input_shapes):
        shapes = [tuple(s) for s in input_shapes]
        ranks = {len(s) for s in shapes}
        axis = self.axis % (len(shapes[0]) + 1) - 1 if self.axis < 0 else self.axis - 1
        if len(ranks) != 1 or axis < 0 or any(s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]
                                              for s in shapes):
            raise ValueError(f"Concatenate cannot join shapes {shapes} along axis {self.axis}")
        self._sizes = [s[axis] for s in shapes]
        joined = None if None in self._sizes else sum(self._sizes)
        self.output_shape = shapes[0][:axis] + (joined,) + shapes[0][axis + 1:]
        self.output_dim = self.output_shape[-1]
        return self.output_shape

    def call(self, xp, weights, xs, batch):
        return xp.concatenate(xs, axis=self.axis)

    def forward(self, weights, xs, batch):
        return np.concatenate(xs, axis=self.axis), [x.shape[self.axis] for x in xs]

    def backward(self, weights, cache, g):
        return np.split(g, np.cumsum(cache)[:-1], axis=self.axis), []

    def get_config(self):
        return {"name": self.name, "axis": self.axis}


class Add(Layer):
    """The elementwise sum of a list of tensors of one shape."""

    takes_list = True

    def build_shape(self, input_shapes):
        shapes = {tuple(s) for s in input_shapes}
        if len(shapes) != 1:
            raise ValueError(f"Add needs tensors of one shape, got {sorted(shapes, key=str)}")
        self.output_shape = shapes.pop()
        self.output_dim = self.output_shape[-1]
        return self.output_shape

    def call(self, xp, weights, xs, batch):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total

    def forward(self, weights, xs, batch):
        return self.call(NUMPY, weights, xs, batch), len(xs)

    def backward(self, weights, cache, g):
        return [g] * cache, []

    def get_config(self):
        return {"name": self.name}


def summary_table(model: Functional):
    """Keras's functional summary: every input and layer, output shape, parameters, inputs."""
    from rich.table import Table

    table = Table(title=f'Model "{model.name}"', title_justify="left")
    for header in ("Layer (type)", "Output Shape", "Param #", "Connected to"):
        table.add_column(header, justify="right" if header == "Param #" else "left")
    for t in model.inputs:
        table.add_row(f"{t.name} (InputLayer)", shape_text(t.shape), "0", "-")
    for layer in model.layers:
        nodes = [n for n in model.nodes if n.layer is layer]
        sources = []
        for n in nodes:
            for s in n.inputs:
                sources.append(f"{s.name}[0][0]" if s.node is None
                               else f"{s.node.layer.name}[{s.node.call_index}][0]")
        table.add_row(f"{layer.name} ({type(layer).__name__})", shape_text(nodes[0].output.shape),
                      f"{layer.count_params:,}", ", ".join(sources))
    trainable, total = model.parameters.size, model.count_params()
    table.caption = (f"Total params: {total:,}\nTrainable params: {trainable:,}\n"
                     f"Non-trainable params: {total - trainable:,}")
    table.caption_justify = "left"
    return table


# Keras's lowercase spellings: a layer made and called at once.
def concatenate(inputs, axis=-1, name=None):
    """``Concatenate(axis)(inputs)``, as ``keras.layers.concatenate``."""
    return Concatenate(axis=axis, name=name)(inputs)


def add(inputs, name=None):
    """``Add()(inputs)``, as ``keras.layers.add``."""
    return Add(name=name)(inputs)

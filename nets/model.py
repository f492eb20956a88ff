"""``Sequential``: a Keras-style model whose gradients come from any difflab method."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

import difflab
from difflab.errors import NotFinite
from difflab.namespaces import NUMPY

from . import backprop, losses, nested, optimizers, saving
from . import callbacks as callbacks_module
from . import layers as layers_module
from . import metrics as metrics_module
from .forward_pass import ForwardPass, running
from .forward_pass import current as current_pass
from .gradients import GradientSource
from .parameters import Parameters
from .registry import Registered
from .symbolic import SymbolicTensor, is_symbolic, shape_text


@dataclass
class Batch:
    """What the objective reads besides the parameters: inputs, targets, dropout masks, and
    whether it is a training batch (BatchNormalization then uses the batch's statistics)."""

    x: np.ndarray
    y: np.ndarray
    masks: dict = field(default_factory=dict)
    training: bool = False


class Sequential(Registered):
    """A stack of layers, trained by ``fit`` with the gradient method chosen at ``compile``.

    Parameters
    ----------
    layers : list of Layer, optional
    seed : int, optional
        Seeds the weight initialisation, the shuffling and the dropout masks; None draws
        fresh entropy (as Keras does without a global seed).
    name : str
    """

    def __init__(self, layers=None, seed=None, name="sequential"):
        self.name, self.seed = name, seed
        init_seq, fit_seq = np.random.SeedSequence(seed).spawn(2)
        self._init_rng, self._rng = np.random.default_rng(init_seq), np.random.default_rng(fit_seq)
        self.layers: list = []
        self._parameters: Parameters | None = None
        self.loss = self.optimizer = self.gradient_source = None
        self.metrics: list = []
        self.batch: Batch | None = None
        self.stop_training = False
        #: True in an epoch that fit's validation_freq does not validate (read by callbacks).
        self.validation_skipped = False
        #: One training step at a time: the batch, the weights and the optimiser's state are
        #: the model's, so steps asked for from several threads run whole, one after another.
        self._step_lock = threading.RLock()
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer) -> None:
        """Append a layer or a model (nested: its layers run in this model's forward pass and
        their weights join this model's); ``nets.Input(shape)`` first fixes the input shape, as
        Keras 3's ``Sequential([Input(shape), ...])``."""
        if _is_input_tensor(layer):
            if self.layers or self.built:
                raise ValueError("Sequential takes nets.Input(shape) only as its first entry")
            self._input_tensor_shape = tuple(layer.shape)
            return
        if not isinstance(layer, (layers_module.Layer, Sequential)):
            raise ValueError(f"Sequential.add takes a nets layer or model, got {type(layer).__name__}")
        if isinstance(layer, Sequential):
            nested.mark_nested(layer)
        if self.built:
            raise ValueError("the model is already built (its weights exist); add layers before "
                             "using it")
        if layer.name is None:
            kind = type(layer).__name__.lower()
            layer.name = f"{kind}_{sum(type(l) is type(layer) for l in self.layers)}"
        self.layers.append(layer)

    @property
    def built(self) -> bool:
        return self._parameters is not None

    @property
    def parameters(self) -> Parameters:
        """The weights (built on first use when the first layer gives ``input_dim``)."""
        self._need_built()
        return self._parameters

    def build(self, input_dim) -> None:
        """Fix the input size (an int) or per-sample shape (a tuple such as (time, features)),
        build every layer and initialise the weights."""
        shape = _sample_shape(input_dim)
        if self.built:
            if shape != self.input_shape:
                raise ValueError(f"the model takes inputs of shape {self.input_shape}, got {shape}")
            return
        if not self.layers:
            raise ValueError("the model has no layers")
        if any(isinstance(layer, Sequential) for layer in self.layers):  # nested models: call to build
            if None in shape:
                raise ValueError(f"building {self.name} needs every axis' length, got {shape_text(shape)}")
            self._build_by_calling(shape)
            return
        self.input_shape = shape
        self.input_dim = shape[-1]
        for layer in self.layers:
            layer.input_shape = shape
            shape = layer.build_shape(shape)
        self._parameters = Parameters(self._leaf_layers())
        self._parameters.initialize(self._init_rng)

    def _build_by_calling(self, shape):
        """Build by running the model once on a sample of zeros of ``shape`` (inference mode):
        each layer builds for the shape it meets and draws its weights from the model's seed,
        as Keras builds a subclassed model. Returns that output."""
        called = []

        def builder(layer, x):
            several = isinstance(x, (list, tuple))
            shapes = [tuple(np.shape(a)[1:]) for a in x] if several else tuple(np.shape(x)[1:])
            layer.build_shape(shapes)
            called.append(layer)
            return [spec.initializer(spec.shape, self._init_rng) for spec in layer.weight_specs]

        x = np.zeros((1, *shape))
        forward_pass = ForwardPass(NUMPY, {}, Batch(x, None), builder=builder)
        with running(forward_pass):
            out = self._call_model(forward_pass, x)
        leaves = self._leaf_layers()
        known = {id(layer) for layer in leaves}
        strays = [layer.name or type(layer).__name__ for layer in called if id(layer) not in known]
        if strays:
            raise ValueError(f"{type(self).__name__}.call uses layers that are not attributes of the "
                             f"model ({', '.join(strays)}); assign every layer in __init__")
        parameters = Parameters(leaves)
        parameters.set_weights([w for layer in leaves for w in forward_pass.weights.get(id(layer)) or
                                [spec.initializer(spec.shape, self._init_rng) for spec in layer.weight_specs]])
        nested.start_from_nested(parameters)
        self.input_shape, self.input_dim = tuple(shape), shape[-1]
        self._parameters = parameters
        return out

    def _leaf_layers(self) -> list:
        """The layers that hold weights, nested models' layers in their place (the order of
        ``get_weights``)."""
        return [leaf for layer in self.layers
                for leaf in (layer._leaf_layers() if isinstance(layer, Sequential) else [layer])]

    @property
    def output_dim(self) -> int:
        self._need_built()
        return self._output_sample_shape()[-1]

    def _output_sample_shape(self) -> tuple:
        """The per-sample output shape of the built chain (a nested last model's as it was built)."""
        last = self.layers[-1]
        return tuple(last.output_shape if isinstance(last, layers_module.Layer) else last._built_output_shape)

    def count_params(self) -> int:
        self._need_built()
        return sum(layer.count_params for layer in self._leaf_layers())

    def get_weights(self) -> list:
        self._need_built()
        return self.parameters.get_weights()

    @property
    def trainable_weights(self) -> list:
        """Copies of the trainable weight arrays, in Keras's order (``trainable_variables`` too)."""
        return self._weights_where(True)

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list:
        """Copies of the frozen arrays (moving statistics, frozen layers), in Keras's order."""
        return self._weights_where(False)

    def _weights_where(self, trainable):
        self._need_built()
        values = self.parameters.unflatten(self.parameters.theta)
        return [np.array(w, copy=True) for layer, row in zip(self.parameters.layers, values)
                for spec, w in zip(layer.weight_specs, row) if spec.trainable == trainable]

    def set_weights(self, weights) -> None:
        self._need_built()
        self.parameters.set_weights(weights)

    def _need_built(self):
        """Build now if the input size is known (the first layer's input_dim), else refuse."""
        if self.built:
            return
        declared = self.declared_input_shape()
        if declared is None:
            raise ValueError("the model is not built yet: give the first layer input_dim, "
                             "call build(input_dim), or fit it")
        self.build(declared)

    # ------------------------------------------------------------------ compiling
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, differentiator="reverse",
                dtype="float64", **differentiator_options):
        """Choose the loss, optimiser, metrics and the difflab method that computes gradients.

        ``differentiator`` is any name ``difflab.get`` knows (``"reverse"``, ``"torch"``,
        ``"fd-central"``, ...); ``"manual"`` is this package's hand-derived backprop.
        ``dtype="float32"`` trains in float32: the weights, the data, the gradient (the method
        computes in float32) and the optimiser's update of the weights.
        """
        if str(dtype) not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', not {dtype!r}")
        self.dtype = np.dtype(str(dtype))
        differentiator_options["dtype"] = self.dtype.name
        if loss is None:
            raise ValueError("compile needs a loss, such as 'mse' or 'sparse_categorical_crossentropy'")
        self.loss = losses.get(loss)
        self.optimizer = optimizers.get(optimizer)
        self.metrics = [metrics_module.get(m) for m in (metrics or [])]
        self.differentiator = str(differentiator)
        self._differentiator_options = differentiator_options
        self.gradient_source = None  # made at fit, once the model is built
        difflab.method_class(self.differentiator)  # unknown names fail here, with suggestions

    def _need_compiled(self):
        if self.loss is None:
            raise RuntimeError("compile the model before training or evaluating it")

    # ------------------------------------------------------------------ the objective
    def forward(self, xp, theta, batch, weights=None, updates=None):
        """The network's output for ``batch`` with trainable parameters ``theta``, in ``xp``.

        ``updates``, a dict, collects the new state of layers that keep one
        (BatchNormalization's moving statistics) when the batch is a training batch.
        """
        if weights is None:
            weights = self.parameters.unflatten(theta, xp)
        by_layer = {id(layer): w for layer, w in zip(self.parameters.layers, weights)}
        forward_pass = ForwardPass(xp, by_layer, batch, updates)
        with running(forward_pass):
            return self._call_model(forward_pass, self._input_tensors(xp, batch.x))

    def _input_tensors(self, xp, data):
        """The batch's inputs brought into ``xp``."""
        return xp.asarray(data)

    def _call_model(self, forward_pass, x):
        """The layers on ``x`` within ``forward_pass``: a chain."""
        for layer in self.layers:
            x = layer(x) if isinstance(layer, Sequential) else forward_pass.apply(layer, x)
        return x

    def __call__(self, inputs, training=None):
        """The model as a layer, one way everywhere (:mod:`nets.nested`): on symbolic tensors
        its layers join the functional graph being written (starting from this model's
        weights); inside another model's forward pass (a subclassed model's ``call``, a
        Sequential it is nested in), its layers on ``inputs`` with their weights there; outside
        any model, its output on NumPy data (with dropout masks and batch statistics when
        ``training=True``, as Keras's ``model(x, training=True)``)."""
        if is_symbolic(inputs):
            return nested.call_symbolic(self, inputs)
        forward_pass = current_pass()
        if forward_pass is None:
            x = self._check_x(inputs)
            batch = self._training_batch(x, None) if training else Batch(self._encode(x), None)
            return self.forward(NUMPY, self.parameters.theta, batch)
        with forward_pass.training_as(training):
            y = self._call_model(forward_pass, inputs)
        if forward_pass.builder is not None:  # being built inside another model: keep the shape
            first = y[0] if isinstance(y, (list, tuple)) else y
            self.__dict__["_built_output_shape"] = tuple(np.shape(first)[1:])
        return y

    def objective(self, theta):
        """The training loss on ``self.batch`` (plus weight penalties) as a function of ``theta``.

        Written once with ``difflab.namespace``: this is the function every difflab method
        differentiates.
        """
        xp = difflab.namespace(theta)
        batch = self.batch
        weights = self.parameters.unflatten(theta, xp)
        loss = self._data_loss(batch.y, self.forward(xp, theta, batch, weights))
        for term in self.penalties(xp, weights):
            loss = loss + term
        return loss

    def _data_loss(self, y, y_pred):
        """The loss of the predictions (without penalties)."""
        return self.loss(y, y_pred)

    # The manual path's sweeps and seed (nets.backprop): a chain of layers.
    def _backprop_forward(self, weights, batch):
        return backprop.forward(self, weights, batch)

    def _backprop_backward(self, weights, caches, g):
        return backprop.backward(self, weights, caches, g)

    def _loss_gradient(self, y, y_pred):
        return backprop.loss_gradient(self.loss, y, y_pred)

    def _metric_values(self, y, y_pred) -> dict:
        """Each compiled metric's value on a batch."""
        return {name: fn(y, y_pred) for name, fn in self.metrics}

    def penalties(self, xp, weights) -> list:
        """The weight-penalty terms of the layers that have one (kernel regularisers)."""
        terms = (layer.penalty(xp, w) for layer, w in zip(self.parameters.layers, weights))
        return [t for t in terms if t is not None]

    # ------------------------------------------------------------------ training
    def fit(self, x, y, epochs=1, batch_size=None, shuffle=True, validation_data=None,
            validation_split=0.0, callbacks=None, verbose=1, validation_freq=1):
        """Train; return a :class:`~nets.callbacks.History`.

        ``history.history["loss"][k]`` is epoch k's training loss as Keras reports it: the
        mean of the batch losses (computed before each batch's update), weighted by batch
        size. Metrics likewise; ``val_`` entries are evaluated after the epoch, every
        ``validation_freq`` epochs (an int), or after the epochs listed (1-based), as in Keras:
        the ``val_`` lists then hold one entry per validated epoch.
        """
        self._need_compiled()
        x, y, validation_data = self._fit_data(x, y, validation_data, validation_split)
        epochs, batch_size = int(epochs), _batch_size(batch_size)
        validates = _validation_epochs(validation_freq)
        self._need_gradient_source().warn_if_large(min(batch_size, len(x)))
        history = callbacks_module.History()
        history.params = {"epochs": epochs, "steps": -(-len(x) // batch_size), "batch_size": batch_size,
                          "differentiator": self.differentiator}
        all_callbacks = self._fit_callbacks(callbacks, history, epochs, verbose)
        self.stop_training = False
        _each(all_callbacks, "on_train_begin")
        try:
            for epoch in range(epochs):
                self._fit_epoch(epoch, all_callbacks, x, y, batch_size, shuffle, validation_data, validates)
                if self.stop_training:
                    break
        finally:
            _each(all_callbacks, "on_train_end")
        return history

    def _fit_data(self, x, y, validation_data, validation_split):
        """The training data checked and cast to the model's dtype, and the validation pair
        (given, or the last ``validation_split`` of the data, as Keras takes it)."""
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if validation_data is None and validation_split:
            x, y = self._raw_inputs(x), self._raw_targets(y)
            cut = int(_count(x) * (1.0 - validation_split))
            if cut < 1 or cut == _count(x):
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation samples")
            head, tail = slice(None, cut), slice(cut, None)
            x, y, validation_data = _take(x, head), _take(y, head), (_take(x, tail), _take(y, tail))
        x, y = self._check_data(x, y)
        x, y = _cast(x, self.dtype), _cast(y, self.dtype)
        self.parameters.theta = self.parameters.theta.astype(self.dtype, copy=False)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation_data = self._check_data(*validation_data)
        return x, y, validation_data

    def _fit_callbacks(self, callbacks, history, epochs, verbose) -> list:
        """The user's callbacks, then History (Keras's order: History sees what callbacks
        log), then the progress bar; each bound to this model."""
        all_callbacks = [*(callbacks or []), history]
        if verbose:
            all_callbacks.append(callbacks_module.ProgressBar(epochs, verbose, self.differentiator))
        for cb in all_callbacks:
            cb.set_model(self)
        return all_callbacks

    def _fit_epoch(self, epoch, all_callbacks, x, y, batch_size, shuffle, validation_data, validates):
        """One epoch: its batches, then validation when due, with the callbacks around it."""
        _each(all_callbacks, "on_epoch_begin", epoch)
        logs = self._train_epoch(x, y, batch_size, shuffle)
        self.validation_skipped = validation_data is not None and not validates(epoch)
        if validation_data is not None and not self.validation_skipped:
            val = self._evaluate_prepared(*validation_data)
            logs.update({f"val_{k}": v for k, v in val.items()})
        _each(all_callbacks, "on_epoch_end", epoch, logs)

    def _train_epoch(self, x, y, batch_size, shuffle):
        """A step on each batch; the epoch's logs: each batch's, weighted by its size."""
        n = _count(x)
        totals, batches = {"loss": 0.0}, 0
        roots, per_batch = self._epoch_reductions()
        for idx in self._batches(n, batch_size, shuffle):
            batches += 1
            for key, value in self._train_step(_take(x, idx), _take(y, idx)).items():
                term = value * value if key in roots else value
                totals[key] = totals.get(key, 0.0) + term * (1 if key in per_batch else len(idx))
        return {k: np.sqrt(v / n) if k in roots else v / (batches if k in per_batch else n)
                for k, v in totals.items()}

    def _epoch_reductions(self):
        """How an epoch's log entries combine their batches' values, as Keras's trackers do:
        the keys that are the root of the epoch's mean square (``RootMeanSquaredError``), and
        those averaged over batches unweighted (a multi-output model's ``<output>_loss``);
        the rest are means weighted by batch size."""
        names = {name for name, fn in self.metrics if getattr(fn, "root_of_mean", False)}
        outputs = getattr(self, "output_names", None) or []
        roots = names | {f"{o}_{name}" for o in outputs for name in names}
        per_batch = {f"{o}_loss" for o in outputs} if len(outputs) > 1 else set()
        return roots, per_batch

    def _batches(self, n, batch_size, shuffle):
        """The sample indices of each batch: a fresh permutation per epoch unless ``shuffle``
        is off; the last batch holds what is left."""
        order = self._rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]

    def _train_step(self, x, y) -> dict:
        """One update on one batch; the loss and metrics measured before it. Steps from
        several threads run one at a time (docs/reliability.md, "Threads")."""
        with self._step_lock:
            return self._locked_train_step(x, y)

    def _locked_train_step(self, x, y) -> dict:
        theta = self.parameters.theta
        self.batch = batch = self._training_batch(x, y)
        logs, updates = {}, {}
        per_output = len(getattr(self, "outputs", ())) > 1  # each output's loss is logged too
        if self.metrics or per_output or self._stateful():  # one NumPy pass: logs and moving statistics
            y_pred = self.forward(NUMPY, theta, batch, updates=updates)
            if self.metrics or per_output:
                logs.update(self._metric_values(batch.y, y_pred))
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                value, grad = self.gradient_source(theta)
        except NotFinite:  # difflab refuses a non-finite loss: the run diverged
            value, grad = float("nan"), None
        finally:
            self.batch = None
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise FloatingPointError(f"training diverged: the loss or its gradient is not finite "
                                     f"(loss {value}); try a smaller learning rate")
        self._apply_updates(updates)
        self.optimizer.step(theta, grad.astype(theta.dtype, copy=False))  # float32 stays float32
        return {"loss": float(value), **logs}

    def train_on_batch(self, x, y, return_dict=False):
        """One gradient step on ``(x, y)`` as one batch, as Keras's ``train_on_batch``.

        Returns the batch's loss (with penalties) measured before the step, or ``[loss,
        *metrics]`` when the model has metrics, or a dict with ``return_dict``: the values of
        this batch alone (Keras 2's ``reset_metrics=True``).
        """
        self._need_compiled()
        x, y = self._check_data(x, y)
        self._need_gradient_source()
        logs = self._train_step(x, y)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _need_gradient_source(self) -> GradientSource:
        with self._step_lock:  # made once, whichever thread asks first
            if self.gradient_source is None:
                self.gradient_source = GradientSource(self, self.differentiator, **self._differentiator_options)
            return self.gradient_source

    def _training_batch(self, x, y):
        n = _count(x)
        masks = {layer: layer.draw_mask(self._rng, n) for layer in self.parameters.layers}
        return Batch(self._encode(x), y, {k: m for k, m in masks.items() if m is not None}, training=True)

    def _encode(self, x):
        """The data as the first layer takes it (an Embedding's ids as one-hot rows)."""
        return self.layers[0].encode_input(x)

    def _stateful(self) -> bool:
        """Whether a layer keeps state that training updates without a gradient."""
        return any(hasattr(layer, "updated_state") for layer in self.parameters.layers)

    def _apply_updates(self, updates: dict) -> None:
        """Write the state the training pass collected (BatchNormalization's moving
        statistics, computed from the batch before the step, as Keras's training step does)."""
        for i, layer in enumerate(self.parameters.layers):
            for j, value in updates.get(id(layer), {}).items():
                self.parameters.frozen[i, j] = value

    # ------------------------------------------------------------------ inference
    def predict(self, x):
        """The network's outputs (no dropout), as a NumPy array (n, units)."""
        x = self._check_x(x)
        return self.forward(NUMPY, self.parameters.theta, Batch(self._encode(x), np.empty((_count(x), 0))))

    def evaluate(self, x, y, return_dict=False):
        """The loss (with penalties) and metrics on ``(x, y)``: a float, a list, or a dict."""
        self._need_compiled()
        result = self._evaluate_prepared(*self._check_data(x, y))
        if return_dict:
            return result
        values = list(result.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_prepared(self, x, y):
        batch = Batch(self._encode(x), y)
        theta = self.parameters.theta
        weights = self.parameters.unflatten(theta, NUMPY)
        y_pred = self.forward(NUMPY, theta, batch, weights)
        loss = float(self._data_loss(y, y_pred)) + sum(float(t) for t in self.penalties(NUMPY, weights))
        return {"loss": loss, **self._metric_values(y, y_pred)}

    # ------------------------------------------------------------------ input checks
    def _check_x(self, x):
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"x must be an array of numbers: {exc}") from None
        declared = self.declared_input_shape()
        return check_inputs(x, declared, "x", self.build if not self.built else None)

    def declared_input_shape(self):
        """The per-sample input shape: as built, from ``nets.Input(shape)`` given first, or as
        the first layer declares it (None when unknown); what a model nested first in a
        Sequential tells the outer one."""
        if self.built:
            return self.input_shape
        shape = getattr(self, "_input_tensor_shape", None)
        if shape is None and self.layers:
            shape = self.layers[0].declared_input_shape()
        return shape

    def encode_input(self, x):
        """How raw data enters the model, as a first layer's ``encode_input``."""
        return self._encode(x)

    def _raw_inputs(self, x):
        """The inputs as array(s) that can be sliced by sample, before any checking."""
        return np.asarray(x)

    def _raw_targets(self, y):
        return np.asarray(y)

    def _check_data(self, x, y):
        x = self._check_x(x)
        _flat_outputs([self._output_sample_shape()])
        y = self.loss.prepare_targets(y, self.output_dim)
        if len(y) != len(x):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        return x, y

    # ------------------------------------------------------------------ reporting and saving
    def summary(self, print_fn=None, show_macs=False):
        """Print a table of the layers, their output shapes and parameter counts; with
        ``show_macs`` also each layer's multiply-adds per sample (:mod:`nets.macs`)."""
        from difflab.console import console

        if show_macs:
            from .macs import macs_table

            table = macs_table(self)
        else:
            table = self._summary_table()
        if print_fn is None:
            console.print(table)
        else:
            with console.capture() as capture:
                console.print(table)
            print_fn(capture.get())

    def _summary_table(self):
        return summary_table(self)

    def get_config(self) -> dict:
        shape = getattr(self, "input_shape", None)
        return {"class_name": type(self).__name__, "module": type(self).__module__,
                "name": self.name, "seed": self.seed, "input_dim": getattr(self, "input_dim", None),
                **({"input_shape": list(shape)} if shape is not None and len(shape) > 1 else {}),
                "layers": [saving.layer_config(layer) for layer in self.layers]}

    def _save_config(self) -> dict:
        """What a saved file holds of the architecture (a subclassed model says more)."""
        return self.get_config()

    def save(self, path, overwrite=True, include_optimizer=True):
        """Save architecture (JSON), weights and compile settings to ``path`` (.npz, no pickle)."""
        saving.save_model(self, path, overwrite=overwrite, include_optimizer=include_optimizer)

    def save_weights(self, path, overwrite=False):
        """Write the weights to a Keras 3 ``.weights.h5`` file that ``keras.Model.load_weights``
        reads (see :mod:`nets.keras_h5`); an existing file is replaced only with ``overwrite=True``."""
        from .keras_h5 import save_weights

        save_weights(self, path, overwrite=overwrite)

    def load_weights(self, path):
        """Set the weights from a Keras 3 ``.weights.h5`` file (written by Keras or by
        :meth:`save_weights`); ValueError naming the layer and both shapes on a mismatch."""
        from .keras_h5 import load_weights

        load_weights(self, path)


def _each(callbacks, hook, *args):
    """Call ``hook`` on every callback, in order."""
    for cb in callbacks:
        getattr(cb, hook)(*args)


def _batch_size(batch_size) -> int:
    """Keras's default of 32, or the positive integer given."""
    batch_size = 32 if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    return batch_size


def _flat_outputs(shapes):
    """Refuse training on outputs of more than one axis per sample (Dense on N-D inputs keeps
    them): the losses take targets (samples, outputs), and would broadcast silently."""
    for shape in shapes:
        if len(tuple(shape)) > 1:
            raise ValueError(f"the model outputs samples of shape {tuple(shape)}, but training takes targets "
                             "(samples, outputs): end the model with a Flatten (or GlobalAveragePooling2D, "
                             "or return_sequences=False) before the last Dense")


def _is_input_tensor(value) -> bool:
    """``nets.Input(shape)``: a symbolic tensor no layer made."""
    return isinstance(value, SymbolicTensor) and value.node is None


def _validation_epochs(validation_freq):
    """``validates(epoch)`` (0-based) for Keras's ``validation_freq``: every n-th epoch, or
    the listed 1-based epochs."""
    if isinstance(validation_freq, (list, tuple, set, range)):
        epochs = set()
        for e in validation_freq:
            if isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 1:
                raise ValueError(f"validation_freq lists 1-based epoch numbers; got {e!r}")
            epochs.add(int(e))
        return lambda epoch: epoch + 1 in epochs
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, (int, np.integer)) \
            or validation_freq < 1:
        raise ValueError(f"validation_freq must be a positive integer or a list of epochs, "
                         f"got {validation_freq!r}")
    return lambda epoch: (epoch + 1) % int(validation_freq) == 0


def summary_table(model):
    """The rich Table behind :meth:`Sequential.summary` (a pure function, for tests)."""
    from rich.table import Table

    model._need_built()
    table = Table(title=f'Model "{model.name}"', title_justify="left")
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    for item in model.layers:  # a nested model is one row, as Keras prints it
        if isinstance(item, Sequential):
            shape = item.__dict__.get("_built_output_shape")
            count = sum(leaf.count_params for leaf in item._leaf_layers())
        else:
            shape, count = item.output_shape, item.count_params
        table.add_row(f"{item.name} ({type(item).__name__})", "?" if shape is None else shape_text(shape),
                      f"{count:,}")
    trainable = model.parameters.size
    total = model.count_params()
    table.caption = (f"Total params: {total:,}\nTrainable params: {trainable:,}\n"
                     f"Non-trainable params: {total - trainable:,}")
    table.caption_justify = "left"
    return table


def _sample_shape(input_dim) -> tuple:
    """An int or a shape as a per-sample shape tuple (None for an axis of any length)."""
    if isinstance(input_dim, (tuple, list)):
        return tuple(None if s is None else int(s) for s in input_dim)
    return (int(input_dim),)


def _count(data) -> int:
    """How many samples: the length of an array, or of the first of several."""
    return len(data[0]) if isinstance(data, (list, tuple)) else len(data)


def _cast(data, dtype):
    """An array, or each of several arrays, in ``dtype`` (no copy when it already is)."""
    if isinstance(data, (list, tuple)):
        return type(data)(d.astype(dtype, copy=False) for d in data)
    return data.astype(dtype, copy=False)


def _take(data, idx):
    """The samples ``idx`` of an array, or of each of several arrays."""
    return type(data)(d[idx] for d in data) if isinstance(data, (list, tuple)) else data[idx]


def check_inputs(x, declared, what="x", build=None):
    """``x`` as a float array of samples shaped like ``declared`` (None matches any length).

    With ``build`` (the model is not built yet) the shape comes from the data where the
    first layer did not fix it, and ``build(shape)`` is called.
    """
    try:
        x = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be an array of numbers: {exc}") from None
    if x.ndim == 1 and declared == (1,):
        x = x.reshape(-1, 1)
    deferred = declared is None and build is not None
    if deferred and x.ndim > 2:  # a deferred build takes the data's rank and shape
        declared = (None,) * (x.ndim - 1)
    rank = 1 if declared is None else len(declared)
    if x.ndim != rank + 1:
        layout = ("(samples, features)" if rank == 1 else
                  f"(samples, {rank} axes per sample): (samples,) + {tuple(declared)}")
        raise ValueError(f"{what} must be {rank + 1}-D {layout}, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} contains NaN or infinity")
    if len(x) == 0:
        raise ValueError(f"{what} has no samples")
    if build is not None:
        declared = tuple(x.shape[1:]) if deferred else declared
        build(declared)
    if any(d is not None and d != s for d, s in zip(declared, x.shape[1:])):
        if rank == 1:
            raise ValueError(f"{what} has {x.shape[1]} features but the model takes {declared[0]}")
        raise ValueError(f"{what} has samples of shape {x.shape[1:]} but the model takes {declared}")
    return x

"""``Sequential``: a Keras-style model whose gradients come from any difflab method."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import difflab
from difflab.errors import NotFinite
from difflab.namespaces import NUMPY

from . import callbacks as callbacks_module
from . import layers as layers_module
from . import losses, metrics as metrics_module, optimizers
from .gradients import GradientSource
from .parameters import Parameters

#: Version tag of the saved-model format.
SAVE_FORMAT = "nets.model/1"


@dataclass
class Batch:
    """What the objective reads besides the parameters: inputs, targets, dropout masks, and
    whether it is a training batch (BatchNormalization then uses the batch's statistics)."""

    x: np.ndarray
    y: np.ndarray
    masks: dict = field(default_factory=dict)
    training: bool = False


class Sequential:
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
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer) -> None:
        if not isinstance(layer, layers_module.Layer):
            raise ValueError(f"Sequential.add takes a nets layer, got {type(layer).__name__}")
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

    def build(self, input_dim: int) -> None:
        """Fix the input size, build every layer and initialise the weights."""
        if self.built:
            if _input_spec(input_dim) != self.input_dim:
                raise ValueError(f"the model takes {self.input_dim} input features, got {input_dim}")
            return
        if not self.layers:
            raise ValueError("the model has no layers")
        self.input_dim = size = _input_spec(input_dim)
        for layer in self.layers:
            size = layer.build(size)
        self._parameters = Parameters(self.layers)
        self._parameters.initialize(self._init_rng)

    @property
    def output_dim(self) -> int:
        self._need_built()
        return self.layers[-1].output_dim

    def count_params(self) -> int:
        self._need_built()
        return sum(layer.count_params for layer in self.layers)

    def get_weights(self) -> list:
        self._need_built()
        return self.parameters.get_weights()

    def set_weights(self, weights) -> None:
        self._need_built()
        self.parameters.set_weights(weights)

    def _need_built(self):
        """Build now if the input size is known (the first layer's input_dim), else refuse."""
        if self.built:
            return
        if not self.layers or self.layers[0].input_dim is None:
            raise ValueError("the model is not built yet: give the first layer input_dim, "
                             "call build(input_dim), or fit it")
        self.build(self.layers[0].input_dim)

    # ------------------------------------------------------------------ compiling
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, differentiator="reverse",
                **differentiator_options):
        """Choose the loss, optimiser, metrics and the difflab method that computes gradients.

        ``differentiator`` is any name ``difflab.get`` knows (``"reverse"``, ``"torch"``,
        ``"fd-central"``, ...); ``"manual"`` is this package's hand-derived backprop.
        """
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
    def forward(self, xp, theta, batch, weights=None):
        """The network's output for ``batch`` with trainable parameters ``theta``, in ``xp``."""
        if weights is None:
            weights = self.parameters.unflatten(theta, xp)
        out = xp.asarray(batch.x)
        for layer, w in zip(self.layers, weights):
            out = layer.call(xp, w, out, batch)
        return out

    def objective(self, theta):
        """The training loss on ``self.batch`` (plus weight penalties) as a function of ``theta``.

        Written once with ``difflab.namespace``: this is the function every difflab method
        differentiates.
        """
        xp = difflab.namespace(theta)
        batch = self.batch
        weights = self.parameters.unflatten(theta, xp)
        loss = self.loss(batch.y, self.forward(xp, theta, batch, weights))
        for term in self.penalties(xp, weights):
            loss = loss + term
        return loss

    def penalties(self, xp, weights) -> list:
        """The weight-penalty terms of the layers that have one (kernel regularisers)."""
        terms = (layer.penalty(xp, w) for layer, w in zip(self.layers, weights))
        return [t for t in terms if t is not None]

    # ------------------------------------------------------------------ training
    def fit(self, x, y, epochs=1, batch_size=None, shuffle=True, validation_data=None,
            validation_split=0.0, callbacks=None, verbose=1):
        """Train; return a :class:`~nets.callbacks.History`.

        ``history.history["loss"][k]`` is epoch k's training loss as Keras reports it: the
        mean of the batch losses (computed before each batch's update), weighted by batch
        size. Metrics likewise; ``val_`` entries are evaluated after the epoch.
        """
        self._need_compiled()
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if validation_data is None and validation_split:
            x, y = np.asarray(x), np.asarray(y)
            cut = int(len(x) * (1.0 - validation_split))
            if cut < 1 or cut == len(x):
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation samples")
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        x, y = self._check_data(x, y)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            validation_data = self._check_data(*validation_data)
        epochs = int(epochs)
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if self.gradient_source is None:
            self.gradient_source = GradientSource(self, self.differentiator, **self._differentiator_options)
        self.gradient_source.warn_if_large(min(batch_size, len(x)))

        history = callbacks_module.History()
        history.params = {"epochs": epochs, "steps": -(-len(x) // batch_size), "batch_size": batch_size,
                          "differentiator": self.differentiator}
        all_callbacks = [history, *(callbacks or [])]
        if verbose:
            all_callbacks.append(callbacks_module.ProgressBar(epochs, verbose, self.differentiator))
        for cb in all_callbacks:
            cb.set_model(self)
        self.stop_training = False
        for cb in all_callbacks:
            cb.on_train_begin()
        try:
            for epoch in range(epochs):
                for cb in all_callbacks:
                    cb.on_epoch_begin(epoch)
                logs = self._train_epoch(x, y, batch_size, shuffle)
                if validation_data is not None:
                    val = self._evaluate_prepared(*validation_data)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                for cb in all_callbacks:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            for cb in all_callbacks:
                cb.on_train_end()
        return history

    def _train_epoch(self, x, y, batch_size, shuffle):
        n = len(x)
        order = self._rng.permutation(n) if shuffle else np.arange(n)
        totals = {"loss": 0.0, **{name: 0.0 for name, _ in self.metrics}}
        theta = self.parameters.theta
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            self.batch = batch = self._training_batch(x[idx], y[idx])
            if self.metrics:
                y_pred = self.forward(NUMPY, theta, batch)
                for name, fn in self.metrics:
                    totals[name] += fn(batch.y, y_pred) * len(idx)
            try:
                with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below
                    value, grad = self.gradient_source(theta)
            except NotFinite:  # difflab refuses a non-finite loss: the run diverged
                value, grad = float("nan"), None
            if not (np.isfinite(value) and np.all(np.isfinite(grad))):
                raise FloatingPointError(f"training diverged: the loss or its gradient is not finite "
                                         f"(loss {value}); try a smaller learning rate")
            totals["loss"] += value * len(idx)
            self._update_layer_state(theta, batch)
            self.optimizer.step(theta, grad)
        self.batch = None
        return {k: v / n for k, v in totals.items()}

    def _training_batch(self, x, y):
        masks = {layer: layer.draw_mask(self._rng, len(x)) for layer in self.layers
                 if isinstance(layer, layers_module.Dropout) and layer.rate > 0}
        return Batch(x, y, masks, training=True)

    def _update_layer_state(self, theta, batch):
        """Layers with state that no gradient trains (BatchNormalization's moving statistics)
        update it from the batch's inputs before the step, as Keras's training step does."""
        last = max((i for i, l in enumerate(self.layers) if hasattr(l, "updated_state")), default=-1)
        if last < 0:
            return
        weights = self.parameters.unflatten(theta)
        out = batch.x
        for i, (layer, w) in enumerate(zip(self.layers[:last + 1], weights)):
            if hasattr(layer, "updated_state"):
                for j, value in layer.updated_state(w, out).items():
                    self.parameters.frozen[i, j] = value
            out = layer.call(NUMPY, w, out, batch)

    # ------------------------------------------------------------------ inference
    def predict(self, x, batch_size=None, verbose=0):
        """The network's outputs (no dropout), as a NumPy array (n, units)."""
        x = self._check_x(x)
        return self.forward(NUMPY, self.parameters.theta, Batch(x, np.empty((len(x), 0))))

    def evaluate(self, x, y, batch_size=None, verbose=0, return_dict=False):
        """The loss (with penalties) and metrics on ``(x, y)``: a float, a list, or a dict."""
        self._need_compiled()
        result = self._evaluate_prepared(*self._check_data(x, y))
        if return_dict:
            return result
        values = list(result.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_prepared(self, x, y):
        batch = Batch(x, y)
        theta = self.parameters.theta
        weights = self.parameters.unflatten(theta, NUMPY)
        y_pred = self.forward(NUMPY, theta, batch, weights)
        loss = float(self.loss(y, y_pred)) + sum(float(t) for t in self.penalties(NUMPY, weights))
        return {"loss": loss, **{name: fn(y, y_pred) for name, fn in self.metrics}}

    # ------------------------------------------------------------------ input checks
    def _check_x(self, x):
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"x must be an array of numbers: {exc}") from None
        if x.ndim == 1 and self.built and self.input_dim == 1:
            x = x.reshape(-1, 1)
        expected = self.input_dim if self.built else (self.layers[0].input_dim if self.layers else None)
        if isinstance(expected, tuple):  # images (or other shaped samples)
            if x.shape[1:] != expected:
                raise ValueError(f"x must have shape (samples,) + {expected}, got {x.shape}")
        elif x.ndim != 2 and (expected is not None or x.ndim < 2):
            raise ValueError(f"x must be 2-D (samples, features), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or infinity")
        if len(x) == 0:
            raise ValueError("x has no samples")
        if not self.built:
            self.build((self.layers[0].input_dim if self.layers else None) or
                       (x.shape[1] if x.ndim == 2 else x.shape[1:]))
        if x.ndim == 2 and x.shape[1] != self.input_dim:
            raise ValueError(f"x has {x.shape[1]} features but the model takes {self.input_dim}")
        return x

    def _check_data(self, x, y):
        x = self._check_x(x)
        y = self.loss.prepare_targets(y, self.output_dim)
        if len(y) != len(x):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        return x, y

    # ------------------------------------------------------------------ reporting and saving
    def summary(self, print_fn=None):
        """Print a table of the layers, their output shapes and parameter counts."""
        from difflab.console import console

        table = summary_table(self)
        if print_fn is None:
            console.print(table)
        else:
            with console.capture() as capture:
                console.print(table)
            print_fn(capture.get())

    def get_config(self) -> dict:
        return {"name": self.name, "seed": self.seed, "input_dim": getattr(self, "input_dim", None),
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self.layers]}

    def save(self, path, overwrite=True, include_optimizer=True):
        """Save architecture (JSON), weights and compile settings to ``path`` (.npz, no pickle)."""
        from .saving import save_model

        save_model(self, path, overwrite=overwrite, include_optimizer=include_optimizer)


def summary_table(model):
    """The rich Table behind :meth:`Sequential.summary` (a pure function, for tests)."""
    from rich.table import Table

    model._need_built()
    table = Table(title=f'Model "{model.name}"', title_justify="left")
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    for layer in model.layers:
        table.add_row(f"{layer.name} ({type(layer).__name__})", _shape_text(layer.output_dim),
                      f"{layer.count_params:,}")
    trainable = model.parameters.size
    total = model.count_params()
    table.caption = (f"Total params: {total:,}   Trainable: {trainable:,}   "
                     f"Non-trainable: {total - trainable:,}")
    table.caption_justify = "left"
    return table


def _input_spec(input_dim):
    """The size of a flat sample (an int) or the shape of a shaped one (a tuple, e.g. H, W, C)."""
    if isinstance(input_dim, (tuple, list)):
        shape = tuple(int(s) for s in input_dim)
        return shape[0] if len(shape) == 1 else shape
    return int(input_dim)


def _shape_text(output_dim):
    """Keras's output-shape text: ``(None, 10)`` or ``(None, 6, 6, 8)``."""
    dims = output_dim if isinstance(output_dim, tuple) else (output_dim,)
    return "(" + ", ".join(["None"] + [str(d) for d in dims]) + ")"


def model_from_config(config: dict) -> Sequential:
    layers = [layers_module.from_config(entry["class_name"], entry["config"]) for entry in config["layers"]]
    model = Sequential(layers, seed=config.get("seed"), name=config.get("name", "sequential"))
    if not model.built and config.get("input_dim"):
        model.build(config["input_dim"])
    return model

"""greenshim - name the parts of a Python training step for greenshim's report.

No dependencies (ctypes only).  The recorder is found in the running process:
run the program as ``LD_PRELOAD=libgreenshim.so python3 train.py`` (or
``greenshim record -- python3 train.py``).  Without the recorder, or with
``GREENSHIM=0``, every function here is a no-op: ``annotate`` registers no
hook at all and ``region`` does nothing.

    import greenshim

    with greenshim.region("encoder.3"):        # a region around any code
        y = layer(x)

    @greenshim.region("data")                  # or as a decorator
    def load_batch(): ...

    @greenshim.region                          # name = the function's __qualname__
    def step(): ...

    h = greenshim.annotate(model)              # every leaf module, forward and backward
    ...
    h.remove()                                 # or: with greenshim.annotate(model): ...

Regions nest: the report shows the whole path ("step/fc1").  Regions are per
thread, as in the C API; pushes and pops always pair on the thread that made
them.

annotate(model) naming convention
---------------------------------
For each module, ``<name>`` is its qualified name from
``model.named_modules()`` and its class, "<qualified>:<Class>" (e.g.
"encoder.layers.0.fc1:Linear", "0:Conv2d" in an ``nn.Sequential``), so that
the report says what the module is; the analyzer keeps what its layer
detection found after it ("0:Conv2d conv 1→8 3x3"):

* forward:  region ``<name>`` from just before ``forward`` to just after it
  (a forward pre-hook pushes, a forward hook pops);
* backward: region ``<name>.backward``.  It opens just before the first
  autograd node of the module's output runs (a hook on the output tensors)
  and closes as soon as the gradient with respect to the module's inputs has
  been computed (an identity autograd function on the inputs that require a
  gradient).  Where no input requires a gradient (the first layer of a
  network), or the module works in place (``inplace=True``), it closes when
  the next annotated backward region opens on the same thread, or when the
  backward pass ends, whichever is first.  A Linear layer's backward region
  therefore holds its weight-gradient and, when there is one, its
  input-gradient GEMM.

By default only leaf modules (no children) are annotated; ``all=True`` also
annotates containers, whose regions then enclose their children's
("block.backward/block.fc1.backward").  The root module is named by
``root_name`` (default: its class name) when it is annotated.  Torch 1.13 has
no ``register_full_backward_pre_hook``; this works with tensor hooks on every
torch version from 1.8 on.  PyTorch runs the backward of CPU tensors on the
thread that called ``backward()``; should a hook ever fire on another thread,
the region is closed only by the thread that opened it (at the end of the
backward pass, which runs on the calling thread).
"""

import ctypes
import functools
import itertools
import os
import threading

__all__ = ["region", "annotate", "push", "pop", "active", "available"]


class _Backend:
    """The recorder's C entry points, or nothing."""

    def __init__(self):
        self.push_fn = None
        self.pop_fn = None
        self.active_fn = None
        self.from_fn = None
        try:
            lib = ctypes.CDLL(None)
            push_fn = getattr(lib, "greenshim_region_push", None)
            pop_fn = getattr(lib, "greenshim_region_pop", None)
        except (OSError, AttributeError):
            push_fn = pop_fn = None
        if push_fn is None or pop_fn is None:
            return
        push_fn.argtypes = [ctypes.c_char_p]
        push_fn.restype = None
        pop_fn.argtypes = []
        pop_fn.restype = None
        self.push_fn, self.pop_fn = push_fn, pop_fn
        from_fn = getattr(lib, "greenshim_region_push_from", None)
        if from_fn is not None:           # says annotate() named the region (older recorders: plain push)
            from_fn.argtypes = [ctypes.c_char_p, ctypes.c_int]
            from_fn.restype = None
        self.from_fn = from_fn
        active_fn = getattr(lib, "greenshim_active", None)
        if active_fn is not None:
            active_fn.argtypes = []
            active_fn.restype = ctypes.c_int
            self.active_fn = active_fn

    def enabled(self):
        if self.push_fn is None:
            return False
        if os.environ.get("GREENSHIM") == "0":
            return False
        if self.active_fn is not None:
            try:
                return bool(self.active_fn())
            except Exception:
                return True
        return True

    def push(self, name, origin=0):
        if origin and getattr(self, "from_fn", None) is not None:
            self.from_fn(name.encode("utf-8", "replace"), origin)
        else:
            self.push_fn(name.encode("utf-8", "replace"))

    def pop(self):
        self.pop_fn()


_backend = _Backend()
_enabled = _backend.enabled()
_tls = threading.local()


def _set_backend(backend):
    """Tests: replace the recorder by any object with push(name) and pop()
    (None: back to the recorder found at import)."""
    global _backend, _enabled
    _backend = backend if backend is not None else _Backend()
    _enabled = backend is not None or _backend.enabled()


def available():
    """True when libgreenshim.so is loaded in this process."""
    return _backend is not None and getattr(_backend, "push_fn", True) is not None


def active():
    """True when regions are being recorded (the recorder is loaded and on)."""
    return _enabled


class _Entry:
    __slots__ = ("name", "closed", "lazy", "tid", "depth", "node")

    def __init__(self, name, lazy=False, depth=0, node=None):
        self.name = name
        self.closed = False
        self.lazy = lazy
        self.tid = threading.get_ident()
        self.depth = depth          # module depth (backward regions)
        self.node = node            # the autograd node it opened before


def _stack():
    s = getattr(_tls, "stack", None)
    if s is None:
        s = _tls.stack = []
    return s


_ANNOTATE = 2                       # enum gs_region_origin: named by annotate()


def _push_entry(name, lazy=False, depth=0, node=None, origin=0):
    e = _Entry(name, lazy, depth, node)
    if origin:
        try:
            _backend.push(name, origin)
        except TypeError:               # a test backend with push(name) only
            _backend.push(name)
    else:
        _backend.push(name)
    _stack().append(e)
    return e


def _close(entry):
    """Pop entry on this thread, with whatever this module pushed above it.
    No-op when already closed or opened by another thread."""
    if entry is None or entry.closed or entry.tid != threading.get_ident():
        return
    s = _stack()
    if entry not in s:
        entry.closed = True
        return
    while s:
        e = s.pop()
        e.closed = True
        _backend.pop()
        if e is entry:
            break


def push(name):
    """Open a region on this thread (pair it with pop())."""
    if _enabled:
        _push_entry(str(name))


def pop():
    """Close the innermost region opened with push() on this thread."""
    if _enabled:
        s = _stack()
        if s:
            _close(s[-1])


class region:
    """``with region("name"):`` or ``@region("name")`` or ``@region``."""

    def __init__(self, name):
        if callable(name) and not isinstance(name, str):
            fn = name
            self.name = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
            self._fn = fn
            functools.update_wrapper(self, fn)
        else:
            self.name = str(name)
            self._fn = None
        self._entries = threading.local()

    def __enter__(self):
        if _enabled:
            st = getattr(self._entries, "s", None)
            if st is None:
                st = self._entries.s = []
            st.append(_push_entry(self.name))
        return self

    def __exit__(self, *exc):
        if _enabled:
            st = getattr(self._entries, "s", None)
            if st:
                _close(st.pop())
        return False

    def __call__(self, *args, **kwargs):
        if self._fn is not None:           # @region used bare
            with self:
                return self._fn(*args, **kwargs)
        fn = args[0]                       # @region("name")
        if len(args) != 1 or kwargs or not callable(fn):
            raise TypeError("region(name) decorates a single function")

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            with self:
                return fn(*a, **kw)
        return wrapper

    def __get__(self, obj, objtype=None):  # bare @region on a method
        if obj is None or self._fn is None:
            return self
        return functools.partial(self.__call__, obj)


class _Handle:
    """Returned by annotate(): remove() takes every hook away."""

    def __init__(self):
        self.hooks = []

    def remove(self):
        for h in self.hooks:
            try:
                h.remove()
            except Exception:
                pass
        self.hooks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def _tensors(obj, out, depth=0):
    import torch
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif depth < 4 and isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors(o, out, depth + 1)
    elif depth < 4 and isinstance(obj, dict):
        for o in obj.values():
            _tensors(o, out, depth + 1)
    return out


_exit_fn = None


def _exit_function():
    """An identity autograd function whose backward closes a region."""
    global _exit_fn
    if _exit_fn is None:
        import torch

        class _GreenshimBackwardExit(torch.autograd.Function):
            @staticmethod
            def forward(ctx, state, *xs):
                ctx.state = state
                res = tuple(x.view_as(x) for x in xs)
                return res if len(res) != 1 else res[0]

            @staticmethod
            def backward(ctx, *grads):
                st = ctx.state
                st.pending -= 1
                if st.pending <= 0:
                    _close(st.entry)
                return (None,) + grads

        _exit_fn = _GreenshimBackwardExit
    return _exit_fn


class _CallState:
    """One forward call of one module: its backward region."""
    __slots__ = ("name", "entry", "pending", "nwrapped", "lazy", "depth")

    def __init__(self, name, nwrapped, lazy, depth):
        self.name = name
        self.depth = depth
        self.entry = None
        self.pending = 0
        self.nwrapped = nwrapped    # inputs behind the exit node
        self.lazy = lazy            # no exit node: closed by the next region


def _end_of_backward():
    """Queued on the autograd engine: closes what is still open on this thread."""
    _tls.callback_queued = False
    for e in list(getattr(_tls, "bwd_open", [])):
        _close(e)
    _tls.bwd_open = []


def _open_backward(st, node):
    if st.entry is not None and not st.entry.closed:
        return                      # a second output of the same call
    st.pending = st.nwrapped
    s = _stack()
    # a lazily closed leaf backward region ends where the next one starts
    while s and s[-1].lazy and not s[-1].closed and s[-1].node != node:
        _close(s[-1])
    # a container whose output is its last child's: its region goes around
    # the child's, opened just before for the same node
    above = []
    while s and s[-1].node == node and s[-1].depth > st.depth and not s[-1].closed:
        above.append(s.pop())
        _backend.pop()
    st.entry = _push_entry(st.name + ".backward", lazy=st.lazy, depth=st.depth, node=node, origin=_ANNOTATE)
    for e in reversed(above):
        _backend.push(e.name)
        s.append(e)
    bwd = getattr(_tls, "bwd_open", None)
    if bwd is None:
        bwd = _tls.bwd_open = []
    bwd.append(st.entry)
    if not getattr(_tls, "callback_queued", False):
        try:
            import torch
            torch.autograd.Variable._execution_engine.queue_callback(_end_of_backward)
            _tls.callback_queued = True
        except Exception:
            pass


def annotate(model, all=False, backward=True, root_name=None):
    """Name every leaf submodule's forward ("<name>:<Class>") and backward
    ("<name>:<Class>.backward") after its qualified name and class; all=True names containers
    too.  Returns a handle whose remove() takes the hooks away (also a context
    manager).  A no-op returning an empty handle without the recorder."""
    handle = _Handle()
    if not _enabled:
        return handle
    import torch

    for qname, mod in model.named_modules():
        is_leaf = next(iter(mod.children()), None) is None
        if not is_leaf and not all:
            continue
        depth = 0 if qname == "" else qname.count(".") + 1
        if qname == "":
            qname = root_name or type(mod).__name__
        else:
            qname = "%s:%s" % (qname, type(mod).__name__)
        handle.hooks.extend(_hook_module(torch, mod, qname, depth, backward, is_leaf))
    return handle


_node_keys = itertools.count(1)


def _node_key(node):
    """A key naming one autograd node across its Python wrappers (which are
    made afresh on each access): kept in the node's own metadata dict."""
    try:
        md = node.metadata
        k = md.get("greenshim_key")
        if k is None:
            k = md["greenshim_key"] = next(_node_keys)
        return k
    except Exception:
        return id(node)


def _hook_module(torch, mod, name, depth, backward, is_leaf):
    inplace = bool(getattr(mod, "inplace", False))
    pending = threading.local()

    def pre_hook(module, args):
        st = None
        ret = None
        if backward and torch.is_grad_enabled():
            ins = [i for i, a in enumerate(args)
                   if isinstance(a, torch.Tensor) and a.requires_grad]
            if not ins or inplace:
                ins = []
            # leaves without an exit node close at the next backward region;
            # containers close at their exit node or at the end of backward
            st = _CallState(name, len(ins), lazy=is_leaf and not ins, depth=depth)
            if ins:
                wrapped = _exit_function().apply(st, *[args[i] for i in ins])
                if len(ins) == 1:
                    wrapped = (wrapped,)
                ret = list(args)
                for i, w in zip(ins, wrapped):
                    ret[i] = w
                ret = tuple(ret)
        calls = getattr(pending, "calls", None)
        if calls is None:
            calls = pending.calls = []
        calls.append((_push_entry(name, origin=_ANNOTATE), st))
        return ret

    def fwd_hook(module, args, output):
        calls = getattr(pending, "calls", None)
        if not calls:
            return None
        entry, st = calls.pop()
        _close(entry)
        if st is None:
            return None
        nodes = {}
        for t in _tensors(output, []):
            if t.requires_grad and t.grad_fn is not None:
                node = t.grad_fn
                nodes.setdefault(_node_key(node), (node, t))
        for key, (node, t) in nodes.items():
            # a pre-hook on the node itself, so that a later in-place op on
            # the output (ReLU(inplace=True)) does not move it
            if hasattr(node, "register_prehook"):
                node.register_prehook(lambda grads, _k=key: _open_backward(st, _k))
            else:
                t.register_hook(lambda grad, _k=key: _open_backward(st, _k))
        return None

    return [mod.register_forward_pre_hook(pre_hook), mod.register_forward_hook(fwd_hook)]

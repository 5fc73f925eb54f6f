"""explainq in Python: runners that serve PyTorch, TensorFlow, ONNX and plain Python models to
explainq workers over the inference protocol, and a client that explains lists of dicts, NumPy
arrays and pandas DataFrames through the workers.

    from explainq import Client
    from explainq.runner import serve
"""
__version__ = "0.1.0"


def __getattr__(name):  # the client needs pandas and tqdm only when used
    if name in ("Client", "JobError"):
        from . import client

        return getattr(client, name)
    raise AttributeError(name)

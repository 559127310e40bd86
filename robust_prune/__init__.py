__version__ = "0.1.0"

import warnings
# fastai's layers are decorated with torch.jit.script, which recent PyTorch releases deprecate: the warning is for
# fastai to act on, and would otherwise open every session and every command of this package
warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)
# TorchScript is the format that published embedders such as SSCD ship in, so `extrapolate` loads it; the deprecation
# is PyTorch's notice about its future, not a problem of the file
warnings.filterwarnings('ignore', message='`torch.jit.load` is deprecated', category=FutureWarning)

"""Mercury LSP: fill-in-the-middle code completion from a block-diffusion language model.

The package is one namespace assembled from the project's top-level folders:
`mercury.denoiser` (denoiser/), `mercury.lsp` (lsp/), `mercury.syntax` (syntax/), `mercury.models` (models/).
"""

__version__ = "0.1.0"

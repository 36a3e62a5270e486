"""What the library says about an archive to people: ``info`` (the facts ``tascodec info``
prints: codec line, sizes, ratio, fidelity) and ``card`` (the Hugging Face dataset card)."""

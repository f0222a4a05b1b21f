"""TEST DOUBLE of the two vLLM names verifiers' VLLMClient imports (see tests/doubles/README.md).

Not vLLM: importing anything else from it fails, as it should in a test.
"""

__version__ = "0.10.2+rgv-test-double"

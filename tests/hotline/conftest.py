from tests.chat.conftest import servers  # noqa: F401 - real `okpay serve` processes on Redis, for the browser test

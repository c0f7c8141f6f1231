"""OKPay: a self-hostable e-wallet and its official customer-service centre."""

__version__ = "0.1.0"

from okpay.cli import main

main()

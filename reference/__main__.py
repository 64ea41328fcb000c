from guestpass.reference.server import main

main()

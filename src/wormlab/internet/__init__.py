"""Where hosts live: the IPv4 address space, which /8s held hosts, and host placement."""

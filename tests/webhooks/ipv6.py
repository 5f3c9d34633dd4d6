"""IPv6 spellings of addresses inside the network (issue 12, item 4), and why each is refused."""

CARRIES = "a private or reserved address (it carries the IPv4 address {})"
TRANSITION = "a private or reserved address (an IPv6 transition range: 6to4, Teredo, NAT64)"

IPV6_CARRYING_PRIVATE_IPV4 = [
    ("::7f00:1", CARRIES.format("127.0.0.1")),  # IPv4-compatible
    ("::a9fe:a9fe", CARRIES.format("169.254.169.254")),  # IPv4-compatible: cloud metadata
    ("::ffff:a9fe:a9fe", CARRIES.format("169.254.169.254")),  # IPv4-mapped
    ("::ffff:0:a9fe:a9fe", CARRIES.format("169.254.169.254")),  # IPv4-translated (SIIT)
    ("64:ff9b::a9fe:a9fe", CARRIES.format("169.254.169.254")),  # NAT64, well-known prefix
    ("64:ff9b::a00:5", CARRIES.format("10.0.0.5")),
    ("64:ff9b:1::a9fe:a9fe", TRANSITION),  # NAT64, local-use prefix
    ("2002:a9fe:a9fe::1", TRANSITION),  # 6to4 of 169.254.169.254
    ("2002:7f00:1::1", TRANSITION),  # 6to4 of 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", TRANSITION),  # Teredo
]

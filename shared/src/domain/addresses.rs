//! Which addresses an outbound request (a webhook delivery) may reach: an ALLOW rule, not a
//! list of refusals. Only globally reachable unicast addresses pass:
//!
//! - every block of the IANA special-purpose address registries whose "Globally Reachable" is
//!   False (or N/A: deprecated blocks) is refused, the most specific entry deciding (so
//!   `192.0.0.9/32`, globally reachable, passes inside the refused `192.0.0.0/24`);
//! - IPv4 multicast (`224.0.0.0/4`, the IPv4 multicast address space registry) is refused;
//! - an IPv6 address passes only inside global unicast `2000::/3` (so multicast `ff00::/8`,
//!   site-local `fec0::/10`, the rest of `::/8` and every other reserved block are refused);
//! - IPv6 forms that carry an IPv4 address to a host (IPv4-mapped `::ffff:0:0/96`, NAT64's
//!   well-known `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they embed;
//!   the other forms that embed one (IPv4-compatible `::/96`, IPv4-translated `::ffff:0:0:0/96`,
//!   local-use NAT64 `64:ff9b:1::/48`, Teredo `2001::/32`) are refused whole.
//!
//! The tables below are the registries as of 2025:
//! <https://www.iana.org/assignments/iana-ipv4-special-registry/> and
//! <https://www.iana.org/assignments/iana-ipv6-special-registry/> (RFC 6890, RFC 8190).
//! Blocks whose "Globally Reachable" is True are listed only where they sit inside a refused
//! block; the others need no entry.
//!
//! A deployment's test setting (`allow_loopback`, local stacks only) lets loopback through
//! (`127.0.0.0/8`, `::1`, and the mapped form of the former) and nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a registry entry says of its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// "Globally Reachable": True.
    Global,
    /// False, or N/A (deprecated): refused.
    Refused,
    /// Loopback: refused, unless the deployment allows loopback.
    Loopback,
    /// An IPv6 form that reaches the IPv4 address it embeds (32 bits at this bit offset).
    EmbedsV4(u32),
}

use Reach::{EmbedsV4, Global, Loopback, Refused};

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    Ipv4Addr::new(a, b, c, d).to_bits()
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16) -> u128 {
    Ipv6Addr::new(a, b, c, d, e, f, g, h).to_bits()
}

/// The IANA IPv4 Special-Purpose Address Registry, plus multicast.
const V4_TABLE: &[(u32, u8, Reach)] = &[
    (v4(0, 0, 0, 0), 8, Refused),          // "This network" (RFC 791)
    (v4(0, 0, 0, 0), 32, Refused),         // "This host on this network" (RFC 1122)
    (v4(10, 0, 0, 0), 8, Refused),         // Private-Use (RFC 1918)
    (v4(100, 64, 0, 0), 10, Refused),      // Shared Address Space (RFC 6598)
    (v4(127, 0, 0, 0), 8, Loopback),       // Loopback (RFC 1122)
    (v4(169, 254, 0, 0), 16, Refused),     // Link Local (RFC 3927), instance metadata among it
    (v4(172, 16, 0, 0), 12, Refused),      // Private-Use (RFC 1918)
    (v4(192, 0, 0, 0), 24, Refused),       // IETF Protocol Assignments (RFC 6890)
    (v4(192, 0, 0, 0), 29, Refused),       // IPv4 Service Continuity Prefix (RFC 7335)
    (v4(192, 0, 0, 8), 32, Refused),       // IPv4 dummy address (RFC 7600)
    (v4(192, 0, 0, 9), 32, Global),        // Port Control Protocol Anycast (RFC 7723)
    (v4(192, 0, 0, 10), 32, Global),       // TURN Anycast (RFC 8155)
    (v4(192, 0, 0, 170), 32, Refused),     // NAT64/DNS64 Discovery (RFC 7050)
    (v4(192, 0, 0, 171), 32, Refused),     // NAT64/DNS64 Discovery (RFC 7050)
    (v4(192, 0, 2, 0), 24, Refused),       // Documentation, TEST-NET-1 (RFC 5737)
    (v4(192, 88, 99, 0), 24, Refused),     // Deprecated 6to4 Relay Anycast (RFC 7526): N/A
    (v4(192, 168, 0, 0), 16, Refused),     // Private-Use (RFC 1918)
    (v4(198, 18, 0, 0), 15, Refused),      // Benchmarking (RFC 2544)
    (v4(198, 51, 100, 0), 24, Refused),    // Documentation, TEST-NET-2 (RFC 5737)
    (v4(203, 0, 113, 0), 24, Refused),     // Documentation, TEST-NET-3 (RFC 5737)
    (v4(224, 0, 0, 0), 4, Refused),        // Multicast (RFC 5771), not unicast
    (v4(240, 0, 0, 0), 4, Refused),        // Reserved (RFC 1112)
    (v4(255, 255, 255, 255), 32, Refused), // Limited Broadcast (RFC 919)
];

/// The IANA IPv6 Special-Purpose Address Registry. Everything outside `2000::/3` without an
/// entry here is refused by `reachable_v6`.
const V6_TABLE: &[(u128, u8, Reach)] = &[
    (v6(0, 0, 0, 0, 0, 0, 0, 1), 128, Loopback), // Loopback (RFC 4291)
    (v6(0, 0, 0, 0, 0, 0, 0, 0), 128, Refused),  // Unspecified (RFC 4291)
    (v6(0, 0, 0, 0, 0, 0xffff, 0, 0), 96, EmbedsV4(96)), // IPv4-mapped (RFC 4291)
    (v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96, EmbedsV4(96)), // IPv4-IPv6 Translation (RFC 6052)
    (v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, Refused), // Local-use IPv4/IPv6 Translation (RFC 8215)
    (v6(0x100, 0, 0, 0, 0, 0, 0, 0), 64, Refused), // Discard-Only (RFC 6666)
    (v6(0x100, 0, 0, 1, 0, 0, 0, 0), 64, Refused), // Dummy IPv6 Prefix (RFC 9780)
    (v6(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, Refused), // IETF Protocol Assignments (RFC 2928)
    (v6(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, Refused), // TEREDO (RFC 4380): N/A
    (v6(0x2001, 1, 0, 0, 0, 0, 0, 1), 128, Global), // Port Control Protocol Anycast (RFC 7723)
    (v6(0x2001, 1, 0, 0, 0, 0, 0, 2), 128, Global), // TURN Anycast (RFC 8155)
    (v6(0x2001, 1, 0, 0, 0, 0, 0, 3), 128, Global), // DNS-SD SRP Anycast (RFC 9665)
    (v6(0x2001, 2, 0, 0, 0, 0, 0, 0), 48, Refused), // Benchmarking (RFC 5180)
    (v6(0x2001, 3, 0, 0, 0, 0, 0, 0), 32, Global), // AMT (RFC 7450)
    (v6(0x2001, 4, 0x112, 0, 0, 0, 0, 0), 48, Global), // AS112-v6 (RFC 7535)
    (v6(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28, Refused), // Deprecated ORCHID (RFC 4843): N/A
    (v6(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28, Global), // ORCHIDv2 (RFC 7343)
    (v6(0x2001, 0x30, 0, 0, 0, 0, 0, 0), 28, Global), // Drone Remote ID DETs (RFC 9374)
    (v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, Refused), // Documentation (RFC 3849)
    (v6(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, EmbedsV4(16)), // 6to4 (RFC 3056)
    (v6(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, Refused), // Documentation (RFC 9637)
    (v6(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16, Refused), // Segment Routing (SRv6) SIDs (RFC 9602)
    (v6(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, Refused), // Unique-Local (RFC 4193), AWS's fd00:ec2::/32
    (v6(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, Refused), // Link-Local Unicast (RFC 4291)
];

/// IPv6 global unicast (RFC 4291; the IPv6 address space registry).
const V6_GLOBAL_UNICAST: (u128, u8) = (v6(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

fn in_v4(ip: u32, (net, len): (u32, u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    ip & mask == net & mask
}

fn in_v6(ip: u128, (net, len): (u128, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    ip & mask == net & mask
}

/// The most specific entry of `table` holding `ip`.
fn lookup<T: Copy>(table: &[(T, u8, Reach)], within: impl Fn((T, u8)) -> bool) -> Option<Reach> {
    table
        .iter()
        .filter(|(net, len, _)| within((*net, *len)))
        .max_by_key(|(_, len, _)| *len)
        .map(|(_, _, reach)| *reach)
}

fn allowed(reach: Reach, allow_loopback: bool) -> bool {
    match reach {
        Global => true,
        Refused | EmbedsV4(_) => false,
        Loopback => allow_loopback,
    }
}

fn reachable_v4(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    let bits = ip.to_bits();
    lookup(V4_TABLE, |block| in_v4(bits, block)).is_none_or(|r| allowed(r, allow_loopback))
}

fn reachable_v6(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    let bits = ip.to_bits();
    match lookup(V6_TABLE, |block| in_v6(bits, block)) {
        Some(EmbedsV4(offset)) => {
            let embedded = (bits >> (96 - offset)) as u32;
            reachable_v4(Ipv4Addr::from_bits(embedded), allow_loopback)
        }
        Some(reach) => allowed(reach, allow_loopback),
        None => in_v6(bits, V6_GLOBAL_UNICAST),
    }
}

/// Whether an outbound request may connect to `ip`: a globally reachable unicast address (or
/// loopback, when `allow_loopback`, a local test deployment's setting).
pub fn reachable(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => reachable_v4(v4, allow_loopback),
        IpAddr::V6(v6) => reachable_v6(v6, allow_loopback),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One address (at least) of every refused registry entry, and the forms that embed one.
    const REFUSED: &[&str] = &[
        // IPv4 registry
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.1",
        "192.0.0.8",
        "192.0.0.11",
        "192.0.0.170",
        "192.0.0.171",
        "192.0.0.255",
        "192.0.2.2",
        "192.0.2.255",
        "192.88.99.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        // IPv6 registry
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:192.0.2.2",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::c000:202",
        "64:ff9b:1::808:808",
        "100::1",
        "100:0:0:1::1",
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:1::4",
        "2001:2::1",
        "2001:10::1",
        "2001:100::1",
        "2001:1ff::1",
        "2001:db8::1",
        "2002:a9fe:a9fe::1",
        "2002:0a00:0001::",
        "2002:c000:0202::1",
        "3fff::1",
        "3fff:fff::1",
        "5f00::1",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "febf::1",
        // IPv6 outside global unicast: site-local, multicast, the rest of ::/8, reserved
        "fec0::1",
        "feff::1",
        "ff02::1",
        "ff0e::1",
        "::c000:202",
        "::8.8.8.8",
        "::ffff:0:8.8.8.8",
        "::ffff:0:c000:202",
        "::1:0:0:1",
        "1::1",
        "200::1",
        "4000::1",
        "e000::1",
    ];

    /// Public addresses, and the globally reachable blocks inside refused ones.
    const ALLOWED: &[&str] = &[
        "1.1.1.1",
        "8.8.8.8",
        "9.255.255.255",
        "11.0.0.1",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.255.255",
        "172.32.0.1",
        "192.0.0.9",
        "192.0.0.10",
        "192.0.1.1",
        "192.0.3.1",
        "192.31.196.1",
        "192.52.193.1",
        "192.175.48.1",
        "198.17.255.255",
        "198.20.0.1",
        "198.51.99.1",
        "203.0.112.1",
        "223.255.255.255",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
        "2001:1::1",
        "2001:1::2",
        "2001:1::3",
        "2001:3::1",
        "2001:4:112::1",
        "2001:20::1",
        "2001:30::1",
        "2001:200::1",
        "2001:4860:4860::8888",
        "2606:4700::1111",
        "2620:4f:8000::1",
        "2a00:1450::1",
        "3ffe::1",
    ];

    #[test]
    fn only_globally_reachable_unicast_addresses_pass() {
        for raw in REFUSED {
            let ip: IpAddr = raw.parse().unwrap();
            assert!(!reachable(ip, false), "{raw} was allowed");
        }
        for raw in ALLOWED {
            let ip: IpAddr = raw.parse().unwrap();
            assert!(reachable(ip, false), "{raw} was refused");
        }
    }

    #[test]
    fn the_local_setting_allows_loopback_and_nothing_else() {
        for raw in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(reachable(raw.parse().unwrap(), true), "{raw}");
        }
        let loopback = ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"];
        for raw in REFUSED.iter().filter(|r| !loopback.contains(r)) {
            let ip: IpAddr = raw.parse().unwrap();
            assert!(!reachable(ip, true), "{raw} was allowed with loopback");
        }
    }

    #[test]
    fn the_most_specific_entry_decides() {
        assert_eq!(
            lookup(V4_TABLE, |b| in_v4(v4(192, 0, 0, 9), b)),
            Some(Global)
        );
        assert_eq!(
            lookup(V4_TABLE, |b| in_v4(v4(192, 0, 0, 1), b)),
            Some(Refused)
        );
        assert_eq!(lookup(V4_TABLE, |b| in_v4(v4(8, 8, 8, 8), b)), None);
        assert!(in_v6(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), (0, 0)));
    }
}

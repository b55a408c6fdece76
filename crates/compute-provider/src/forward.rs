//! A macro for wrapper providers that forwards the capability accessors to the inner one.

/// Expands, inside an `impl Provider for Wrapper<P>` block whose struct has an `inner` field
/// holding the wrapped provider, into the ten capability accessors. Each returns the wrapper
/// itself as the capability when the inner provider has that capability, and `None`
/// otherwise, so a wrapper declares exactly what it wraps. The wrapper must implement every
/// capability trait itself (to retry, trace, … those calls too).
macro_rules! forward_capability_accessors {
    () => {
        forward_capability_accessors!(
            stop_start: StopStart,
            reboot: Reboot,
            resize_volume: ResizeVolume,
            change_type: ChangeInstanceType,
            firewall: Firewall,
            update_tags: UpdateTags,
            images: Images,
            quota: QuotaInfo,
            network_probe: NetworkProbe,
            fault_injection: FaultInjection
        );
    };
    ($($accessor:ident: $capability:ident),+) => {
        $(
            fn $accessor(&self) -> Option<&dyn $capability> {
                self.inner.$accessor().map(|_| self as &dyn $capability)
            }
        )+
    };
}

//! What a VM size says by its name: Arm64 or x64, and the Hyper-V
//! generations it boots (Azure's size naming convention).

/// Whether a VM size is Arm64, from Azure's size naming convention
/// (`Standard_<family><vCPUs><features>_<version>`, where feature `p` means an
/// Arm-based processor: `Standard_D2ps_v5`, `Standard_B2pls_v2`). None when
/// the name does not follow the convention.
pub fn size_is_arm64(size: &str) -> Option<bool> {
    let body = size.strip_prefix("Standard_")?;
    let head = body.split('_').next()?;
    let digits_at = head.find(|c: char| c.is_ascii_digit())?;
    let after = &head[digits_at..];
    let features = after.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    Some(features.contains('p'))
}

/// The Hyper-V generations a VM size boots, for the families where Azure's
/// documentation settles it by name; None means "ask Azure" (the resource SKU
/// API is not among the operations this provider calls). Arm64 and the v6
/// families boot only generation 2; the A family (Basic, A0-A11, Av2) only
/// generation 1.
pub fn size_generations(size: &str) -> Option<&'static [&'static str]> {
    if size.starts_with("Basic_A") {
        return Some(&["V1"]);
    }
    let body = size.strip_prefix("Standard_")?;
    if size_is_arm64(size) == Some(true) || body.ends_with("_v6") {
        return Some(&["V2"]);
    }
    let family: String = body.chars().take_while(char::is_ascii_alphabetic).collect();
    (family == "A").then_some(&["V1"][..])
}

/// Whether a VM size runs Confidential VMs, from Azure's size naming
/// convention: the DC and EC families with the `a` (AMD SEV-SNP) or `e`
/// (Intel TDX) feature, v5 and later (`Standard_DC2as_v5`,
/// `Standard_EC4ads_v5`, `Standard_DC2es_v5`). The older DC families are SGX
/// enclaves, not Confidential VMs. None when the name does not follow the
/// convention.
pub fn size_is_confidential(size: &str) -> Option<bool> {
    let body = size.strip_prefix("Standard_")?;
    let mut parts = body.split('_');
    let head = parts.next()?;
    let version = parts.next().unwrap_or("");
    let digits_at = head.find(|c: char| c.is_ascii_digit())?;
    let family = &head[..digits_at];
    let features = head[digits_at..].trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
    let generation: u32 = version.trim_start_matches('v').parse().unwrap_or(0);
    Some(
        matches!(family, "DC" | "EC")
            && (features.starts_with('a') || features.starts_with('e'))
            && generation >= 5,
    )
}

/// Why an image of `arch` / `generation` cannot boot on `size`, if it cannot.
pub(super) fn size_mismatch(
    size: &str,
    arch: Option<&str>,
    generation: Option<&str>,
) -> Option<String> {
    if let Some(arch) = arch {
        let image_arm = arch.eq_ignore_ascii_case("arm64");
        if size_is_arm64(size).is_some_and(|size_arm| size_arm != image_arm) {
            return Some(format!(
                "the image is {arch} but {size} is {} size. Choose {}.",
                if image_arm { "an x64" } else { "an Arm64" },
                if image_arm {
                    "an Arm64 size such as Standard_D2ps_v5"
                } else {
                    "an x64 size such as Standard_D2s_v5"
                }
            ));
        }
    }
    let generation = generation?.to_ascii_uppercase();
    let boots = size_generations(size)?;
    (!boots.contains(&generation.as_str())).then(|| {
        format!(
            "the image is Hyper-V generation {} but {size} boots only generation {}. Choose {} (or an image of the other generation, such as a `-gen2` SKU).",
            &generation[1..],
            &boots[0][1..],
            if generation == "V2" { "a generation 2 size such as Standard_D2s_v5" } else { "a size that boots generation 1, such as Standard_D2s_v5" }
        )
    })
}

/// True when the host's size is Arm64, where managed Run Command is not
/// offered and the action `runCommand` (RunShellScript) is used instead.
pub(super) fn on_arm64(size: Option<&str>) -> bool {
    size.and_then(size_is_arm64).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::size_is_confidential;

    #[test]
    fn confidential_sizes_by_name() {
        for yes in [
            "Standard_DC2as_v5",
            "Standard_EC4ads_v5",
            "Standard_DC2es_v5",
            "Standard_DC4as_v6",
        ] {
            assert_eq!(size_is_confidential(yes), Some(true), "{yes}");
        }
        for no in [
            "Standard_D2s_v5",
            "Standard_DC2s_v3",
            "Standard_DC1s_v2",
            "Standard_E2as_v5",
            "Standard_D2as_v5",
        ] {
            assert_eq!(size_is_confidential(no), Some(false), "{no}");
        }
        assert_eq!(size_is_confidential("Basic_A1"), None);
    }

    #[test]
    fn arm64_sizes_by_name() {
        use super::size_is_arm64 as a;
        assert_eq!(a("Standard_D2ps_v5"), Some(true));
        assert_eq!(a("Standard_B2pls_v2"), Some(true));
        assert_eq!(a("Standard_D2s_v5"), Some(false));
        assert_eq!(a("Standard_E2bds_v5"), Some(false));
        assert_eq!(a("Standard_B1s"), Some(false));
        assert_eq!(a("Basic_A1"), None);
    }
}

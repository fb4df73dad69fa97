//! Small formatting helpers shared by the browser and the server.

/// "15 seconds", "1 minute", "3 minutes", "1 hour": a wait a person can act on.
pub fn wait_duration(secs: u64) -> String {
    fn plural(n: u64, unit: &str) -> String {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    }
    if secs < 60 {
        plural(secs.max(1), "second")
    } else if secs < 3600 {
        plural(secs.div_ceil(60), "minute")
    } else {
        plural(secs.div_ceil(3600), "hour")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_duration(0), "1 second");
        assert_eq!(wait_duration(15), "15 seconds");
        assert_eq!(wait_duration(60), "1 minute");
        assert_eq!(wait_duration(61), "2 minutes");
        assert_eq!(wait_duration(3600), "1 hour");
        assert_eq!(wait_duration(3601), "2 hours");
    }
}

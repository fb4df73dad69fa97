//! Server-side presentation: times in the person's zone and formats (so the HTML rendered
//! on the server is already right), device names from user agents.

use app::{
    format::{format_datetime, LocalParts},
    models::{DateFormat, Preferences, TimeFormat},
};
use chrono::{Datelike, TimeZone, Timelike};
use chrono_tz::Tz;

pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// Formats instants (milliseconds since the epoch) for one person.
#[derive(Debug, Clone, Copy)]
pub struct TimeDisplay {
    tz: Tz,
    date: DateFormat,
    time: TimeFormat,
}

impl TimeDisplay {
    pub fn new(prefs: &Preferences) -> Self {
        Self {
            tz: parse_time_zone(&prefs.time_zone).unwrap_or(Tz::UTC),
            date: prefs.date_format,
            time: prefs.time_format,
        }
    }

    pub fn parts(&self, ms: i64) -> LocalParts {
        let dt = self
            .tz
            .timestamp_millis_opt(ms)
            .single()
            .unwrap_or_else(|| chrono::DateTime::UNIX_EPOCH.with_timezone(&self.tz));
        LocalParts {
            year: dt.year(),
            month: dt.month(),
            day: dt.day(),
            hour: dt.hour(),
            minute: dt.minute(),
        }
    }

    pub fn format(&self, ms: i64) -> String {
        format_datetime(&self.parts(ms), self.date, self.time)
    }

    /// The first moment of a day typed as `YYYY-MM-DD`, in the person's zone.
    pub fn start_of_day(&self, day: &str) -> Option<i64> {
        let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
        let midnight = date.and_hms_opt(0, 0, 0)?;
        // A zone may skip midnight (a DST change): the earliest moment of that day.
        let local = self
            .tz
            .from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                self.tz
                    .from_local_datetime(&date.and_hms_opt(1, 0, 0)?)
                    .earliest()
            })?;
        Some(local.timestamp_millis())
    }
}

/// "Chrome 140 on Linux", "Firefox 133 on Windows 10", or "Unknown device".
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".into();
    };
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) if r.name != "UNKNOWN" => {
            let major = r.version.split('.').next().unwrap_or("");
            let browser = if major.is_empty() || major == "UNKNOWN" {
                r.name.to_string()
            } else {
                format!("{} {major}", r.name)
            };
            if r.os == "UNKNOWN" {
                browser
            } else {
                format!("{browser} on {}", r.os)
            }
        }
        _ => "Unknown device".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_follow_the_persons_zone_and_formats() {
        let prefs = Preferences {
            time_zone: "America/New_York".into(),
            date_format: DateFormat::MonthDayYear,
            time_format: TimeFormat::H12,
            news_opt_in: false,
        };
        // 2026-11-24T12:00:00Z is 07:00 in New York (EST).
        assert_eq!(
            TimeDisplay::new(&prefs).format(1_795_521_600_000),
            "11/24/2026 7:00 AM"
        );
        let tokyo = Preferences {
            time_zone: "Asia/Tokyo".into(),
            date_format: DateFormat::DayMonthNameYear,
            time_format: TimeFormat::H24,
            ..prefs
        };
        assert_eq!(
            TimeDisplay::new(&tokyo).format(1_795_521_600_000),
            "24 Nov 2026 21:00"
        );
    }

    #[test]
    fn zones_and_devices() {
        // The list the browser suggests and validates against is chrono-tz's, exactly.
        let mut names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
        names.sort_unstable();
        assert_eq!(names, app::time_zones::TIME_ZONES.to_vec());
        assert!(parse_time_zone("Mars/Olympus").is_none());
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
        assert_eq!(describe_device(Some(chrome)), "Chrome 140 on Linux");
        assert_eq!(describe_device(None), "Unknown device");
        assert_eq!(describe_device(Some("curl/8.0")), "HTTP Library curl");
        assert_eq!(describe_device(Some("???")), "Unknown device");
    }
}

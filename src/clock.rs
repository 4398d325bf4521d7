//! "Now": `SOURCE_DATE_EPOCH` when set (the reproducible-builds convention), else the system clock.

#[derive(Debug, thiserror::Error)]
#[error("environment variable `SOURCE_DATE_EPOCH`: `{0}` is not a Unix timestamp in seconds")]
pub struct InvalidEpoch(pub String);

pub fn now(source_date_epoch: Option<&str>) -> Result<jiff::Timestamp, InvalidEpoch> {
    match source_date_epoch.map(str::trim).filter(|s| !s.is_empty()) {
        Some(epoch) => epoch
            .parse::<i64>()
            .ok()
            .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
            .ok_or_else(|| InvalidEpoch(epoch.to_string())),
        None => Ok(jiff::Timestamp::now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_pins_the_clock() {
        assert_eq!(
            now(Some("1578616200")).unwrap().to_string(),
            "2020-01-10T00:30:00Z"
        );
        assert!(
            now(Some("yesterday"))
                .unwrap_err()
                .to_string()
                .contains("`yesterday`")
        );
        assert!(now(None).is_ok());
        assert!(now(Some("")).is_ok());
    }
}

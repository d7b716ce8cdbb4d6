//! Vietnamese working days, for the time limits of land procedures (a holder change: 4
//! working days, 14 in difficult communes; Decree 151/2025). Saturdays and Sundays are off;
//! so are the public holidays of the Labour Code 2019 (Art 112) as the Government schedules
//! them for civil servants each year, with the Saturdays worked in exchange.
//!
//! The clock starts on the working day after a complete dossier is received: received on a
//! Friday before Tết 2026, a 4-day limit falls due on the fourth working day after the
//! break.

use chrono::{Datelike, NaiveDate, Weekday};

/// A span of days off (weekdays among them are not working days), with where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Holiday {
    /// First day off.
    pub from: NaiveDate,
    /// Last day off.
    pub to: NaiveDate,
    /// What it is.
    pub name: &'static str,
    /// Where the dates come from.
    pub source: &'static str,
}

const fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("a valid date"),
    }
}

const LABOUR_CODE: &str =
    "Bộ luật Lao động 2019, Điều 112 (statutory day; a holiday on a weekend gives the next working day off)";

/// Days off for civil servants, 2025–2027. The 2027 Tết and Hùng Kings' days follow the
/// Labour Code and the lunar calendar until the Government announces that year's schedule:
/// update this table then (and any year's when a day is swapped).
pub const HOLIDAYS: &[Holiday] = &[
    Holiday { from: day(2025, 1, 1), to: day(2025, 1, 1), name: "Tết Dương lịch 2025", source: LABOUR_CODE },
    Holiday {
        from: day(2025, 1, 25),
        to: day(2025, 2, 2),
        name: "Tết Nguyên đán Ất Tỵ",
        source: "Government schedule for civil servants: 25/1–2/2/2025 (9 days)",
    },
    Holiday {
        from: day(2025, 4, 7),
        to: day(2025, 4, 7),
        name: "Giỗ Tổ Hùng Vương (10/3 âm lịch)",
        source: LABOUR_CODE,
    },
    Holiday {
        from: day(2025, 4, 30),
        to: day(2025, 5, 4),
        name: "Ngày Chiến thắng và Quốc tế Lao động",
        source: "Government schedule: 30/4–4/5/2025, 2/5 swapped with Saturday 26/4",
    },
    Holiday {
        from: day(2025, 8, 30),
        to: day(2025, 9, 2),
        name: "Quốc khánh",
        source: "Government schedule: 30/8–2/9/2025",
    },
    Holiday { from: day(2026, 1, 1), to: day(2026, 1, 1), name: "Tết Dương lịch 2026", source: LABOUR_CODE },
    Holiday {
        from: day(2026, 2, 14),
        to: day(2026, 2, 22),
        name: "Tết Nguyên đán Bính Ngọ",
        source: "Government schedule for civil servants: 14/2–22/2/2026, 9 days (Công an TP.HCM, congan.com.vn, news 388656)",
    },
    Holiday {
        from: day(2026, 4, 27),
        to: day(2026, 4, 27),
        name: "Giỗ Tổ Hùng Vương (26/4, a Sunday), day off in lieu",
        source: LABOUR_CODE,
    },
    Holiday {
        from: day(2026, 4, 30),
        to: day(2026, 5, 1),
        name: "Ngày Chiến thắng và Quốc tế Lao động",
        source: LABOUR_CODE,
    },
    Holiday {
        from: day(2026, 9, 1),
        to: day(2026, 9, 2),
        name: "Quốc khánh",
        source: "Bộ luật Lao động 2019, Điều 112(1)(đ): 2/9 and the day before",
    },
    Holiday { from: day(2027, 1, 1), to: day(2027, 1, 1), name: "Tết Dương lịch 2027", source: LABOUR_CODE },
    Holiday {
        from: day(2027, 2, 5),
        to: day(2027, 2, 11),
        name: "Tết Nguyên đán Đinh Mùi (provisional)",
        source: "Labour Code: 5 days around 6/2/2027 (lunar new year), the two on a weekend given back on 10–11/2",
    },
    Holiday {
        from: day(2027, 4, 16),
        to: day(2027, 4, 16),
        name: "Giỗ Tổ Hùng Vương (provisional)",
        source: "Labour Code; 10/3 âm lịch Đinh Mùi by the lunar calendar",
    },
    Holiday { from: day(2027, 4, 30), to: day(2027, 4, 30), name: "Ngày Chiến thắng", source: LABOUR_CODE },
    Holiday {
        from: day(2027, 5, 3),
        to: day(2027, 5, 3),
        name: "Quốc tế Lao động (1/5, a Saturday), day off in lieu",
        source: LABOUR_CODE,
    },
    Holiday {
        from: day(2027, 9, 2),
        to: day(2027, 9, 3),
        name: "Quốc khánh (provisional: which adjacent day is the Government's choice)",
        source: "Bộ luật Lao động 2019, Điều 112(1)(đ): 2/9 and the day after",
    },
];

/// Saturdays worked in exchange for a weekday off.
pub const WORKED_SATURDAYS: &[NaiveDate] = &[day(2025, 4, 26)];

/// The years the table covers; outside them only weekends are known.
pub const COVERED_YEARS: std::ops::RangeInclusive<i32> = 2025..=2027;

/// Whether offices work on `date`.
pub fn is_working_day(date: NaiveDate) -> bool {
    if WORKED_SATURDAYS.contains(&date) {
        return true;
    }
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return false;
    }
    !HOLIDAYS.iter().any(|h| h.from <= date && date <= h.to)
}

/// The day a limit of `days` working days falls due when the dossier was received on
/// `received` (the count starts the next working day).
///
/// ```
/// use chrono::NaiveDate;
/// use diaba_core::workdays::due_date;
/// // Received on Friday 13/2/2026, the eve of the Tết 2026 break: due on Thursday 26/2.
/// let received = NaiveDate::from_ymd_opt(2026, 2, 13).unwrap();
/// assert_eq!(due_date(received, 4), NaiveDate::from_ymd_opt(2026, 2, 26).unwrap());
/// ```
pub fn due_date(received: NaiveDate, days: u32) -> NaiveDate {
    let mut date = received;
    let mut counted = 0;
    while counted < days {
        date = date.succ_opt().expect("dates this century have a next day");
        if is_working_day(date) {
            counted += 1;
        }
    }
    date
}

/// Working days after `from` up to and including `to` (0 when `to` is not after `from`).
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    from.iter_days().skip(1).take_while(|d| *d <= to).filter(|d| is_working_day(*d)).map(|_| 1).sum()
}

/// The first working day after `date` (when a dossier due then is owed its notice today).
pub fn working_day_after(date: NaiveDate) -> NaiveDate {
    let mut day = date.succ_opt().expect("dates this century have a day after");
    while !is_working_day(day) {
        day = day.succ_opt().expect("dates this century have a day after");
    }
    day
}

/// The working day before `date` (when a notice "one working day before it falls due" goes).
pub fn working_day_before(date: NaiveDate) -> NaiveDate {
    let mut day = date.pred_opt().expect("dates this century have a day before");
    while !is_working_day(day) {
        day = day.pred_opt().expect("dates this century have a day before");
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_working_day_after_skips_the_weekend_and_the_day_in_lieu() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        // Fri 24/4 → Sat, Sun 26/4 (Giỗ Tổ), Mon 27/4 (in lieu) off → Tue 28/4.
        assert_eq!(working_day_after(day(4, 24)), day(4, 28));
        assert_eq!(working_day_before(day(4, 28)), day(4, 24));
    }

    #[test]
    fn tet_2026_and_the_april_may_holidays_are_skipped() {
        // Tết 2026: 14/2–22/2 off; received Friday 13/2, 4 days → 23, 24, 25, 26/2.
        assert_eq!(due_date(day(2026, 2, 13), 4), day(2026, 2, 26));
        // 14 days (difficult communes) from the same Friday: into March.
        assert_eq!(due_date(day(2026, 2, 13), 14), day(2026, 3, 12));
        // Received Wednesday 29/4/2026: 30/4 and 1/5 off, then the weekend → 4–7/5.
        assert_eq!(due_date(day(2026, 4, 29), 4), day(2026, 5, 7));
        // Received Friday 24/4/2026: Monday 27/4 is Giỗ Tổ's day in lieu → 28, 29/4, 4, 5/5.
        assert_eq!(due_date(day(2026, 4, 24), 4), day(2026, 5, 5));
        // 2025: Saturday 26/4 was worked in exchange for Friday 2/5.
        assert!(is_working_day(day(2025, 4, 26)) && !is_working_day(day(2025, 5, 2)));
        assert_eq!(due_date(day(2025, 4, 25), 2), day(2025, 4, 28), "the worked Saturday counts");
    }

    #[test]
    fn working_days_are_counted_and_the_notice_day_found() {
        assert_eq!(working_days_between(day(2026, 2, 13), day(2026, 2, 26)), 4);
        assert_eq!(working_days_between(day(2026, 2, 26), day(2026, 2, 13)), 0);
        // One working day before a due Monday 23/2/2026 is Friday 13/2, before the break.
        assert_eq!(working_day_before(day(2026, 2, 23)), day(2026, 2, 13));
        assert!(HOLIDAYS.iter().all(|h| h.from <= h.to && COVERED_YEARS.contains(&h.from.year())));
    }
}

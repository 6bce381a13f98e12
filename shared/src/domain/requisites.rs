//! Company requisites: ИНН, КПП, БИК, accounts — with the checks Russian accountants rely on.

use serde::{Deserialize, Serialize};

/// Why a requisite is rejected; the string is the machine-readable field code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequisiteError {
    Format,
    Checksum,
}

impl RequisiteError {
    pub fn code(self) -> &'static str {
        match self {
            RequisiteError::Format => "invalid_format",
            RequisiteError::Checksum => "invalid_checksum",
        }
    }
}

fn digits(s: &str) -> Option<Vec<u32>> {
    s.chars().map(|c| c.to_digit(10)).collect()
}

fn weighted(d: &[u32], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(a, b)| a * b).sum::<u32>() % 11 % 10
}

/// ИНН: 10 digits for an organisation, 12 for an individual or sole trader, with control digits.
pub fn check_inn(inn: &str) -> Result<(), RequisiteError> {
    let d = digits(inn).ok_or(RequisiteError::Format)?;
    match d.len() {
        10 => {
            if weighted(&d, &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9] {
                Ok(())
            } else {
                Err(RequisiteError::Checksum)
            }
        }
        12 => {
            let n11 = weighted(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
            let n12 = weighted(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
            if n11 == d[10] && n12 == d[11] {
                Ok(())
            } else {
                Err(RequisiteError::Checksum)
            }
        }
        _ => Err(RequisiteError::Format),
    }
}

/// КПП: 9 characters — 4 digits (tax office), 2 digits or capital Latin letters (reason), 3 digits.
pub fn check_kpp(kpp: &str) -> Result<(), RequisiteError> {
    let b = kpp.as_bytes();
    let ok = b.len() == 9
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..6].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && b[6..].iter().all(u8::is_ascii_digit);
    if ok { Ok(()) } else { Err(RequisiteError::Format) }
}

/// БИК: 9 digits.
pub fn check_bic(bic: &str) -> Result<(), RequisiteError> {
    if bic.len() == 9 && bic.bytes().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(RequisiteError::Format)
    }
}

fn account_key_ok(prefix3: &str, account: &str) -> bool {
    const W: [u32; 3] = [7, 1, 3];
    match digits(&format!("{prefix3}{account}")) {
        Some(d) if d.len() == 23 => d.iter().enumerate().map(|(i, x)| x * W[i % 3] % 10).sum::<u32>() % 10 == 0,
        _ => false,
    }
}

/// Расчётный счёт: 20 digits whose control key agrees with the bank's БИК (last 3 digits).
pub fn check_account(account: &str, bic: &str) -> Result<(), RequisiteError> {
    check_bic(bic)?;
    if account.len() != 20 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(RequisiteError::Format);
    }
    if account_key_ok(&bic[6..9], account) {
        Ok(())
    } else {
        Err(RequisiteError::Checksum)
    }
}

/// Корр. счёт: 20 digits, starts with 30101, keyed with "0" + БИК digits 5–6.
pub fn check_corr_account(account: &str, bic: &str) -> Result<(), RequisiteError> {
    check_bic(bic)?;
    if account.len() != 20 || !account.starts_with("30101") || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(RequisiteError::Format);
    }
    if account_key_ok(&format!("0{}", &bic[4..6]), account) {
        Ok(())
    } else {
        Err(RequisiteError::Checksum)
    }
}

/// The seller (the vendor using autobill): printed in the bank block and as «Поставщик».
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seller {
    pub name: String,
    pub inn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ogrn: Option<String>,
    pub address: String,
    pub bank: String,
    pub bic: String,
    pub corr_account: String,
    pub account: String,
    /// «Руководитель» signatory, e.g. "Иванов И. И.".
    pub director: String,
    /// «Бухгалтер» signatory.
    pub accountant: String,
}

impl Seller {
    /// Checks every requisite; a seller config that fails here must not start the service.
    pub fn validate(&self) -> Result<(), String> {
        let check = |what: &str, r: Result<(), RequisiteError>| r.map_err(|e| format!("seller {what}: {}", e.code()));
        check("inn", check_inn(&self.inn))?;
        match (&self.kpp, self.inn.len()) {
            (Some(kpp), _) => check("kpp", check_kpp(kpp))?,
            (None, 10) => return Err("seller kpp: required with a 10-digit inn".into()),
            (None, _) => {}
        }
        check("bic", check_bic(&self.bic))?;
        check("account", check_account(&self.account, &self.bic))?;
        check("corr_account", check_corr_account(&self.corr_account, &self.bic))?;
        // Limits of the ГОСТ Р 56042-2014 payment QR, which carries the name and the bank.
        for (what, v, max) in [
            ("name", &self.name, 160),
            ("address", &self.address, 500),
            ("bank", &self.bank, 45),
        ] {
            if v.trim().is_empty() {
                return Err(format!("seller {what}: required"));
            }
            if v.chars().count() > max || v.contains('|') {
                return Err(format!("seller {what}: at most {max} characters, no '|'"));
            }
        }
        Ok(())
    }
}

/// The buyer, as entered on the order form (already validated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub name: String,
    pub inn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpp: Option<String>,
    pub address: String,
    pub email: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inn_10_digits() {
        assert_eq!(check_inn("7707083893"), Ok(())); // Сбербанк
        assert_eq!(check_inn("7736207543"), Ok(())); // Яндекс
        assert_eq!(check_inn("7707083894"), Err(RequisiteError::Checksum));
        assert_eq!(check_inn("770708389"), Err(RequisiteError::Format));
        assert_eq!(check_inn("77070838a3"), Err(RequisiteError::Format));
    }

    #[test]
    fn inn_12_digits() {
        assert_eq!(check_inn("500100732259"), Ok(()));
        assert_eq!(check_inn("500100732258"), Err(RequisiteError::Checksum));
        assert_eq!(check_inn("500100732249"), Err(RequisiteError::Checksum));
        assert_eq!(check_inn(""), Err(RequisiteError::Format));
        assert_eq!(check_inn("５００１００７３２２５９"), Err(RequisiteError::Format));
    }

    #[test]
    fn kpp_shape() {
        assert_eq!(check_kpp("773601001"), Ok(()));
        assert_eq!(check_kpp("7736AB001"), Ok(()));
        assert_eq!(check_kpp("77360100"), Err(RequisiteError::Format));
        assert_eq!(check_kpp("7736ab001"), Err(RequisiteError::Format));
        assert_eq!(check_kpp("77360100X"), Err(RequisiteError::Format));
    }

    #[test]
    fn bank_accounts_agree_with_bic() {
        // Сбербанк, Москва.
        assert_eq!(check_corr_account("30101810400000000225", "044525225"), Ok(()));
        assert_eq!(check_account("40702810238000001234", "044525225"), Ok(()));
        assert_eq!(
            check_account("40702810338000001234", "044525225"),
            Err(RequisiteError::Checksum)
        );
        assert_eq!(
            check_corr_account("30101810400000000226", "044525225"),
            Err(RequisiteError::Checksum)
        );
        assert_eq!(
            check_account("4070281093800000000", "044525225"),
            Err(RequisiteError::Format)
        );
    }
}

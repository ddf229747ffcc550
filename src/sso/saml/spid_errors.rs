//! The messages AgID prescribes for the SPID anomalies an IdP reports (the "ErrorCode nrNN" of a
//! failed Response; SPID technical rules, table of error messages, and the UX guidelines).

/// The message for the person, by SPID error code.
pub fn message(code: Option<u16>) -> String {
    let text = match code {
        Some(19) => {
            "Autenticazione fallita per ripetuta sottomissione di credenziali errate: è stato superato il numero di tentativi consentiti dal tuo gestore di identità."
        }
        Some(20) => {
            "La tua identità digitale non ha credenziali compatibili con il livello di sicurezza richiesto da questo servizio."
        }
        Some(21) => "Il tempo a disposizione per completare l'autenticazione è scaduto.",
        Some(22) => "Hai negato il consenso all'invio dei dati al servizio.",
        Some(23) => {
            "La tua identità digitale risulta sospesa o revocata, oppure le credenziali sono bloccate."
        }
        Some(25) => "Hai annullato il processo di autenticazione.",
        Some(30) => {
            "Hai usato un'identità di tipo professionale: per questo servizio serve l'identità digitale personale."
        }
        _ => "L'autenticazione non è andata a buon fine.",
    };
    match code {
        Some(c) => format!("Errore SPID n. {c}: {text}"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_code() {
        assert!(message(Some(19)).starts_with("Errore SPID n. 19:"));
        assert!(message(Some(25)).contains("annullato"));
        assert_eq!(message(None), "L'autenticazione non è andata a buon fine.");
        assert!(message(Some(99)).contains("n. 99"));
    }
}

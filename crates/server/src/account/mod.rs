//! Account lifecycle logic that the HTTP layer calls: password reset by e-mail.
//! (E-mail verification and invitation mails belong here too.)

pub mod password_reset;
pub mod reset_token;
